// The standard fds are streams: they carry no seek/tell right, so seeking, telling and positioned I/O
// are refused (NOTCAPABLE: the rights decide before the file type); they are not preopens; stdin is
// not writable and stdout not readable.
#include "guest.h"

int main(void) {
  __wasi_filesize_t pos;
  uint8_t buf[4];
  __wasi_iovec_t iov = {buf, sizeof buf};
  __wasi_ciovec_t ciov = {(const uint8_t *)"x", 1};
  __wasi_size_t n;
  __wasi_prestat_t ps;
  __wasi_fdstat_t st;
  for (__wasi_fd_t fd = 0; fd < 3; fd++) {
    printf("fd %u seek: %s\n", (unsigned)fd, errno_name(__wasi_fd_seek(fd, 0, __WASI_WHENCE_SET, &pos)));
    printf("fd %u tell: %s\n", (unsigned)fd, errno_name(__wasi_fd_tell(fd, &pos)));
    printf("fd %u prestat: %s\n", (unsigned)fd, errno_name(__wasi_fd_prestat_get(fd, &ps)));
    int err = __wasi_fd_fdstat_get(fd, &st);
    printf("fd %u fdstat: %s seek right=%d\n", (unsigned)fd, err == 0 ? "ok" : errno_name(err),
           err == 0 && (st.fs_rights_base & __WASI_RIGHTS_FD_SEEK) != 0);
  }
  printf("pread stdin: %s\n", errno_name(__wasi_fd_pread(0, &iov, 1, 0, &n)));
  printf("pwrite stdout: %s\n", errno_name(__wasi_fd_pwrite(1, &ciov, 1, 0, &n)));
  printf("write stdin: %s\n", errno_name(__wasi_fd_write(0, &ciov, 1, &n)));
  printf("read stdout: %s\n", errno_name(__wasi_fd_read(1, &iov, 1, &n)));
  return 0;
}
