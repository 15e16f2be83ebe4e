// Regular-file I/O under the directory argv[1]: create, write, read, seek (also past the end), pread,
// pwrite, ftruncate (shrink and grow), posix_fallocate, fsync, O_APPEND (at open and via fcntl), O_TRUNC,
// O_EXCL, access modes, readv/writev, an open file that is unlinked or renamed, and a 1 MiB pattern
// read back at unaligned offsets. Leaves f.txt ("hello WORLD!") for the test to inspect on the host.
#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>
#include "guest.h"

// Two alternating buffers, so one call can take two paths.
static const char *at(const char *dir, const char *name) {
  static char bufs[2][512];
  static int which;
  which ^= 1;
  snprintf(bufs[which], sizeof bufs[which], "%s/%s", dir, name);
  return bufs[which];
}

static off_t size_of(int fd) {
  off_t cur = lseek(fd, 0, SEEK_CUR), end = lseek(fd, 0, SEEK_END);
  lseek(fd, cur, SEEK_SET);
  return end;
}

static uint8_t pattern(size_t i) { return (uint8_t)(i * 31 + (i >> 12)); }

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/data";
  char buf[64];

  int fd = open(at(dir, "f.txt"), O_CREAT | O_EXCL | O_RDWR, 0644);
  check(fd >= 0, "create");
  check(write(fd, "hello world", 11) == 11, "write");
  check(lseek(fd, 0, SEEK_CUR) == 11, "position after write");
  check(lseek(fd, 0, SEEK_SET) == 0, "seek set");
  check(read(fd, buf, 5) == 5 && memcmp(buf, "hello", 5) == 0, "read");
  check(lseek(fd, 1, SEEK_CUR) == 6, "seek cur");
  check(read(fd, buf, sizeof buf) == 5 && memcmp(buf, "world", 5) == 0, "read rest");
  check(read(fd, buf, sizeof buf) == 0, "read at end");
  check(lseek(fd, -5, SEEK_END) == 6, "seek end");
  printf("write/read/seek ok\n");

  check(pwrite(fd, "WORLD", 5, 6) == 5, "pwrite");
  check(lseek(fd, 0, SEEK_CUR) == 6, "pwrite keeps position");
  memset(buf, 0, sizeof buf);
  check(pread(fd, buf, sizeof buf, 0) == 11 && memcmp(buf, "hello WORLD", 11) == 0, "pread");
  check(pread(fd, buf, sizeof buf, 100) == 0, "pread past end");
  check(lseek(fd, 0, SEEK_CUR) == 6, "pread keeps position");
  printf("pread/pwrite ok\n");

  report_libc("seek negative", (int)lseek(fd, -1, SEEK_SET));

  check(lseek(fd, 100, SEEK_SET) == 100, "seek past end");
  check(size_of(fd) == 11, "seek past end does not grow");
  check(write(fd, "x", 1) == 1, "write past end");
  check(size_of(fd) == 101, "size after write past end");
  check(pread(fd, buf, 10, 50) == 10, "pread hole");
  for (int i = 0; i < 10; i++) check(buf[i] == 0, "hole reads as zeros");
  printf("seek past end ok\n");

  check(ftruncate(fd, 5) == 0 && size_of(fd) == 5, "ftruncate shrink");
  check(ftruncate(fd, 4096) == 0 && size_of(fd) == 4096, "ftruncate grow");
  check(pread(fd, buf, 10, 0) == 10 && memcmp(buf, "hello\0\0\0\0\0", 10) == 0, "grown part is zero");
  printf("ftruncate ok\n");

  check(posix_fallocate(fd, 0, 8192) == 0, "posix_fallocate");
  check(size_of(fd) == 8192, "fallocate grows");
  check(posix_fallocate(fd, 0, 100) == 0 && size_of(fd) == 8192, "fallocate never shrinks");
  printf("posix_fallocate ok\n");

  check(fsync(fd) == 0, "fsync");
  check(fdatasync(fd) == 0, "fdatasync");
  printf("fsync ok\n");

  check(ftruncate(fd, 0) == 0, "truncate to 0");
  check(pwrite(fd, "hello WORLD", 11, 0) == 11, "rewrite");
  check(close(fd) == 0, "close");

  fd = open(at(dir, "f.txt"), O_WRONLY | O_APPEND);
  check(fd >= 0, "open append");
  check(lseek(fd, 0, SEEK_SET) == 0, "seek before append");
  check(write(fd, "!", 1) == 1, "append");
  check(size_of(fd) == 12, "append goes to end");
  report_libc("read on write-only fd", (int)read(fd, buf, 1));
  close(fd);
  printf("append ok\n");

  report_libc("create exclusive existing", open(at(dir, "f.txt"), O_CREAT | O_EXCL | O_WRONLY, 0644));
  report_libc("open missing", open(at(dir, "missing.txt"), O_RDONLY));

  fd = open(at(dir, "f.txt"), O_RDONLY);
  check(fd >= 0, "open read-only");
  report_libc("write on read-only fd", (int)write(fd, "x", 1));
  check(read(fd, buf, sizeof buf) == 12 && memcmp(buf, "hello WORLD!", 12) == 0, "content");
  close(fd);

  fd = open(at(dir, "t.txt"), O_CREAT | O_WRONLY, 0644);
  check(fd >= 0 && write(fd, "to be truncated", 15) == 15, "write t.txt");
  close(fd);
  fd = open(at(dir, "t.txt"), O_WRONLY | O_TRUNC);
  check(fd >= 0 && size_of(fd) == 0, "O_TRUNC empties");
  close(fd);
  printf("open flags ok\n");

  // writev/readv with several buffers, an empty one among them.
  fd = open(at(dir, "v.txt"), O_CREAT | O_RDWR | O_TRUNC, 0644);
  check(fd >= 0, "open v.txt");
  struct iovec wv[4] = {{"one ", 4}, {"", 0}, {"two ", 4}, {"three", 5}};
  check(writev(fd, wv, 4) == 13, "writev");
  char r1[3], r2[1], r3[20];
  struct iovec rv[3] = {{r1, 3}, {r2, 0}, {r3, sizeof r3}};
  check(preadv(fd, rv, 3, 0) == 13, "preadv");
  check(memcmp(r1, "one", 3) == 0 && memcmp(r3, " two three", 10) == 0, "preadv content");
  printf("writev/readv ok\n");

  // O_APPEND switched on with fcntl: writes go to the end whatever the position.
  check(fcntl(fd, F_SETFL, O_APPEND) == 0, "F_SETFL O_APPEND");
  int fl = fcntl(fd, F_GETFL);
  check(fl >= 0 && (fl & O_APPEND) != 0 && (fl & O_ACCMODE) == O_RDWR, "F_GETFL");
  check(lseek(fd, 0, SEEK_SET) == 0 && write(fd, "!", 1) == 1, "write with O_APPEND");
  check(size_of(fd) == 14 && pread(fd, buf, 1, 13) == 1 && buf[0] == '!', "appended at end");
  printf("fcntl O_APPEND ok\n");

  // An open file stays usable after its name is renamed, then removed.
  check(rename(at(dir, "v.txt"), at(dir, "w.txt")) == 0, "rename open file");
  check(pread(fd, buf, 3, 0) == 3 && memcmp(buf, "one", 3) == 0, "read after rename");
  check(unlink(at(dir, "w.txt")) == 0, "unlink open file");
  check(open(at(dir, "w.txt"), O_RDONLY) < 0 && errno == ENOENT, "name gone");
  check(pwrite(fd, "ONE", 3, 0) == 3 && pread(fd, buf, 4, 0) == 4 && memcmp(buf, "ONE ", 4) == 0,
        "write and read after unlink");
  check(close(fd) == 0, "close unlinked");
  printf("open file survives rename and unlink ok\n");

  // 1 MiB in odd-sized writes, read back at unaligned offsets across block boundaries.
  static uint8_t big[1 << 20], back[1 << 20];
  for (size_t i = 0; i < sizeof big; i++) big[i] = pattern(i);
  fd = open(at(dir, "big.bin"), O_CREAT | O_RDWR | O_TRUNC, 0644);
  check(fd >= 0, "open big");
  for (size_t off = 0; off < sizeof big;) {
    size_t n = sizeof big - off < 12345 ? sizeof big - off : 12345;
    check(write(fd, big + off, n) == (ssize_t)n, "write big");
    off += n;
  }
  check(size_of(fd) == (off_t)sizeof big, "big size");
  check(pread(fd, back, sizeof back, 0) == (ssize_t)sizeof back && memcmp(big, back, sizeof big) == 0,
        "read big whole");
  for (size_t off = 1; off + 9000 <= sizeof big; off += 65537) {
    check(pread(fd, back, 9000, (off_t)off) == 9000 && memcmp(big + off, back, 9000) == 0, "read big slice");
  }
  close(fd);
  check(unlink(at(dir, "big.bin")) == 0, "unlink big");
  printf("1 MiB pattern ok\n");
  return 0;
}
