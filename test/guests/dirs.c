// Directories under argv[1]: mkdir, listing with types, rename (files and directories, replacing,
// into itself), unlink, rmdir, ".." that stays inside the mount, and the errno of each misuse.
#include <dirent.h>
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

static void touch(const char *name, const char *text) {
  int fd = open(at(name), O_CREAT | O_WRONLY | O_TRUNC, 0644);
  check(fd >= 0, name);
  check(write(fd, text, strlen(text)) == (ssize_t)strlen(text), name);
  close(fd);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Prints the entries of a directory (without "." and ".."), sorted, with their d_type.
static void list(const char *name) {
  DIR *d = opendir(at(name));
  check(d != NULL, "opendir");
  char *names[64];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    check(n < 64, "too many entries");
    const char *t = e->d_type == DT_DIR ? "dir" : e->d_type == DT_REG ? "file" : "other";
    names[n] = malloc(strlen(e->d_name) + 8);
    sprintf(names[n++], "%s:%s", e->d_name, t);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof names[0], cmp);
  printf("list %s:", name);
  for (int i = 0; i < n; i++) printf(" %s", names[i]), free(names[i]);
  printf("\n");
}

static int exists(const char *name) {
  struct stat st;
  return stat(at(name), &st) == 0;
}

int main(int argc, char **argv) {
  dir = argc > 1 ? argv[1] : "/data";

  report_libc("mkdir d", mkdir(at("d"), 0755));
  report_libc("mkdir d again", mkdir(at("d"), 0755));
  report_libc("mkdir missing parent", mkdir(at("nope/x"), 0755));
  report_libc("mkdir d/sub", mkdir(at("d/sub"), 0755));
  touch("d/a.txt", "a");
  touch("d/b.txt", "bb");
  list("d");

  report_libc("rmdir non-empty", rmdir(at("d")));
  report_libc("rmdir a file", rmdir(at("d/a.txt")));
  report_libc("unlink a directory", unlink(at("d/sub")));
  report_libc("unlink missing", unlink(at("d/zzz")));
  report_libc("open dir for writing", open(at("d"), O_WRONLY));
  report_libc("open file as directory", open(at("d/a.txt"), O_RDONLY | O_DIRECTORY));
  report_libc("file with trailing slash", open(at("d/a.txt/"), O_RDONLY));
  report_libc("path through a file", open(at("d/a.txt/x"), O_RDONLY));

  report_libc("rename file", rename(at("d/a.txt"), at("d/c.txt")));
  printf("old name gone=%d new name there=%d\n", !exists("d/a.txt"), exists("d/c.txt"));
  report_libc("rename over file", rename(at("d/c.txt"), at("d/b.txt")));
  struct stat st;
  check(stat(at("d/b.txt"), &st) == 0, "stat replaced");
  printf("replaced size=%lld\n", (long long)st.st_size);
  report_libc("rename missing", rename(at("d/none"), at("d/none2")));
  report_libc("rename dir into itself", rename(at("d"), at("d/sub/d")));
  report_libc("rename file over dir", rename(at("d/b.txt"), at("d/sub")));
  report_libc("rename dir over file", rename(at("d/sub"), at("d/b.txt")));
  report_libc("mkdir e", mkdir(at("e"), 0755));
  touch("e/keep", "k");
  report_libc("rename dir over non-empty dir", rename(at("d/sub"), at("e")));
  report_libc("rename dir", rename(at("d/sub"), at("d/sub2")));
  report_libc("rename dir across", rename(at("d/sub2"), at("e/moved")));
  report_libc("rename file across", rename(at("d/b.txt"), at("e/moved/b.txt")));
  list("d");
  list("e");
  list("e/moved");

  report_libc("mkdir via ..", mkdir(at("e/../f"), 0755));
  printf("f exists=%d\n", exists("f"));
  report_libc("rmdir via ..", rmdir(at("e/moved/../../f")));

  report_libc("unlink e/moved/b.txt", unlink(at("e/moved/b.txt")));
  report_libc("rmdir e/moved", rmdir(at("e/moved")));
  report_libc("unlink e/keep", unlink(at("e/keep")));
  report_libc("rmdir e", rmdir(at("e")));
  report_libc("rmdir d", rmdir(at("d")));
  report_libc("rmdir d again", rmdir(at("d")));

  char longname[257];
  memset(longname, 'n', 255);
  longname[255] = 0;
  report_libc("mkdir 255-byte name", mkdir(at(longname), 0755));
  report_libc("rmdir 255-byte name", rmdir(at(longname)));
  longname[255] = 'n', longname[256] = 0;
  report_libc("mkdir 256-byte name", mkdir(at(longname), 0755));
  list(".");
  return 0;
}
