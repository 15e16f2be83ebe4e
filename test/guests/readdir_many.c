// Directory listing across many entries under argv[1] (count argv[2], default 2000): libc readdir
// (several fd_readdir calls resumed by cookie), raw fd_readdir with a small buffer so entries are cut
// at buffer ends, telldir/seekdir, rewinddir, then removal of everything.
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include "guest.h"

static char path[512];
static int n_files;
static unsigned char seen[100000];

static const char *at(const char *dir, const char *name) {
  snprintf(path, sizeof path, "%s/%s", dir, name);
  return path;
}

// Marks a name "f%05d"; fails on anything else or a repeat.
static void see(const char *name, size_t len) {
  if (len == 1 && name[0] == '.') return;
  if (len == 2 && name[0] == '.' && name[1] == '.') return;
  check(len == 6 && name[0] == 'f', "entry name");
  // Raw dirent names are not NUL-terminated: read exactly five digits.
  int i = 0;
  for (size_t k = 1; k < 6; k++) {
    check(name[k] >= '0' && name[k] <= '9', "entry digits");
    i = i * 10 + (name[k] - '0');
  }
  check(i >= 0 && i < n_files, "entry index");
  check(!seen[i], "entry seen once");
  seen[i] = 1;
}

static void all_seen(const char *what) {
  for (int i = 0; i < n_files; i++) check(seen[i], what);
  memset(seen, 0, sizeof seen);
  printf("%s: %d entries ok\n", what, n_files);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/data";
  n_files = argc > 2 ? atoi(argv[2]) : 2000;
  check(n_files > 20 && n_files < 100000, "count");
  char many[512];
  snprintf(many, sizeof many, "%s", at(dir, "many"));
  check(mkdir(many, 0755) == 0, "mkdir many");
  char name[16];
  for (int i = 0; i < n_files; i++) {
    snprintf(name, sizeof name, "f%05d", i);
    int fd = open(at(many, name), O_CREAT | O_EXCL | O_WRONLY, 0644);
    check(fd >= 0, "create entry");
    close(fd);
  }
  printf("created %d files\n", n_files);

  DIR *d = opendir(many);
  check(d != NULL, "opendir");
  struct dirent *e;
  while ((e = readdir(d)) != NULL) see(e->d_name, strlen(e->d_name));
  all_seen("readdir");

  // Raw fd_readdir with a 100-byte buffer: at most a few entries per call, the last one usually cut.
  __wasi_fd_t dfd = preopen_fd(dir), mfd;
  check_ok(__wasi_path_open(dfd, 0, "many", __WASI_OFLAGS_DIRECTORY, __WASI_RIGHTS_FD_READDIR, 0, 0, &mfd),
           "open many");
  uint8_t buf[100];
  __wasi_dircookie_t cookie = 0;
  int calls = 0;
  for (;;) {
    __wasi_size_t used = 0;
    check_ok(__wasi_fd_readdir(mfd, buf, sizeof buf, cookie, &used), "fd_readdir");
    calls++;
    size_t off = 0;
    int whole = 0;
    while (off + sizeof(__wasi_dirent_t) <= used) {
      __wasi_dirent_t ent;
      memcpy(&ent, buf + off, sizeof ent);
      if (off + sizeof ent + ent.d_namlen > used) break; // cut: fetch again from its cookie
      see((const char *)buf + off + sizeof ent, ent.d_namlen);
      cookie = ent.d_next;
      off += sizeof ent + ent.d_namlen;
      whole++;
    }
    if (used < sizeof buf) break; // a short buffer means the end
    check(whole > 0, "progress per call");
  }
  check(calls > n_files / 4, "many calls");
  all_seen("fd_readdir small buffer");
  check_ok(__wasi_fd_close(mfd), "close many");

  rewinddir(d);
  long pos = -1;
  char after[10][16];
  int k = 0, idx = 0;
  while ((e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    idx++;
    if (idx == n_files / 2) pos = telldir(d);
    else if (pos >= 0 && k < 10) snprintf(after[k++], 16, "%s", e->d_name);
    if (k == 10) break;
  }
  check(k == 10, "ten after telldir");
  seekdir(d, pos);
  for (int j = 0; j < 10; j++) {
    e = readdir(d);
    check(e != NULL, "readdir after seekdir");
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) {
      j--;
      continue;
    }
    check(strcmp(e->d_name, after[j]) == 0, "same entries after seekdir");
  }
  printf("telldir/seekdir ok\n");

  rewinddir(d);
  while ((e = readdir(d)) != NULL) see(e->d_name, strlen(e->d_name));
  all_seen("rewinddir");
  closedir(d);

  for (int i = 0; i < n_files; i++) {
    snprintf(name, sizeof name, "f%05d", i);
    check(unlink(at(many, name)) == 0, "unlink entry");
  }
  check(rmdir(many) == 0, "rmdir many");
  printf("removed all\n");
  return 0;
}
