// Symlinks inside argv[1]: create, readlink (whole and truncated), follow for open and stat, lstat,
// links to directories and through "..", dangling links, O_NOFOLLOW, hard links, chains, unlink.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "guest.h"

static const char *dir;

static const char *at(const char *name) {
  static char bufs[2][512];
  static int which;
  which ^= 1;
  snprintf(bufs[which], sizeof bufs[which], "%s/%s", dir, name);
  return bufs[which];
}

static void read_through(const char *name) {
  char buf[64] = {0};
  int fd = open(at(name), O_RDONLY);
  if (fd < 0) {
    printf("read %s: %s\n", name, errno_name(errno));
    return;
  }
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  printf("read %s: [%.*s]\n", name, (int)(n < 0 ? 0 : n), buf);
}

int main(int argc, char **argv) {
  dir = argc > 1 ? argv[1] : "/data";
  int fd = open(at("target.txt"), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  check(fd >= 0 && write(fd, "target data", 11) == 11, "write target");
  close(fd);

  report_libc("symlink", symlink("target.txt", at("link")));
  char buf[64];
  ssize_t n = readlink(at("link"), buf, sizeof buf);
  printf("readlink: %zd [%.*s]\n", n, (int)(n < 0 ? 0 : n), buf);
  n = readlink(at("link"), buf, 4);
  if (n < 0) printf("readlink short buffer: %s\n", errno_name(errno));
  else printf("readlink short buffer: %zd [%.*s]\n", n, (int)n, buf);
  read_through("link");

  struct stat st;
  check(lstat(at("link"), &st) == 0, "lstat");
  printf("lstat link: symlink=%d\n", S_ISLNK(st.st_mode) ? 1 : 0);
  check(stat(at("link"), &st) == 0, "stat");
  printf("stat link: regular=%d size=%lld\n", S_ISREG(st.st_mode) ? 1 : 0, (long long)st.st_size);

  report_libc("mkdir sub", mkdir(at("sub"), 0755));
  report_libc("symlink to dir", symlink("sub", at("sublink")));
  fd = open(at("sublink/inner.txt"), O_CREAT | O_WRONLY, 0644);
  report_libc("create through dir link", fd);
  if (fd >= 0) close(fd);
  printf("inner exists in sub=%d\n", stat(at("sub/inner.txt"), &st) == 0);
  report_libc("symlink with .. inside mount", symlink("../target.txt", at("sub/up")));
  read_through("sub/up");
  report_libc("chain 1", symlink("link", at("chain1")));
  report_libc("chain 2", symlink("chain1", at("chain2")));
  report_libc("chain 3", symlink("sub/up", at("chain3")));
  read_through("chain2");
  read_through("chain3");

  report_libc("dangling symlink", symlink("nowhere", at("dangle")));
  read_through("dangle");
  report_libc("create exclusive on dangling link", open(at("dangle"), O_CREAT | O_EXCL | O_WRONLY, 0644));
  printf("lstat dangling ok=%d\n", lstat(at("dangle"), &st) == 0);
  report_libc("symlink over existing", symlink("x", at("target.txt")));
  report_libc("readlink regular file", (int)readlink(at("target.txt"), buf, sizeof buf));
  report_libc("readlink missing", (int)readlink(at("missing"), buf, sizeof buf));
  report_libc("open O_NOFOLLOW on link", open(at("link"), O_RDONLY | O_NOFOLLOW));
  report_libc("open O_NOFOLLOW on file", fd = open(at("target.txt"), O_RDONLY | O_NOFOLLOW));
  if (fd >= 0) close(fd);

  report_libc("hard link", link(at("target.txt"), at("hard")));
  check(stat(at("target.txt"), &st) == 0, "stat target");
  printf("nlink=%llu\n", (unsigned long long)st.st_nlink);
  read_through("hard");

  report_libc("unlink link", unlink(at("link")));
  printf("target still there=%d\n", stat(at("target.txt"), &st) == 0);
  read_through("chain2");
  return 0;
}
