/* bench/floor.c: what any `check` must at least spend on this machine (issue 11).
 *
 *   floor ROOT [PROGRAM ARG... [-- PROGRAM ARG...]...]
 *
 * Starts every PROGRAM at once, each as nodeprep starts its helpers (chrooted into ROOT,
 * a clean environment, stdin empty, stdout and stderr to a pipe), reads the pipes to their
 * end, waits for all of them and exits 0 only when each exited 0 and printed something.
 * It reads no file, parses nothing and prints nothing: a static C program that only starts
 * check's helpers in parallel. With no PROGRAM it is glibc's process start and exit alone.
 * bench/run builds it (cc -O2 -static-pie, like nodeprep's own static-pie glibc link) and
 * times it in the same rounds as check. Needs root (chroot).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX 16

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: floor ROOT [PROGRAM ARG... [-- PROGRAM ARG...]...]\n");
    return 64;
  }
  char *env[] = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                 "LC_ALL=C", NULL};
  const char *root = argv[1];
  struct pollfd fds[2 * MAX];
  long got[MAX] = {0};
  pid_t pids[MAX];
  int n = 0, open = 0;
  for (int i = 2; i < argc; i++) {
    if (n == MAX) {
      fprintf(stderr, "floor: more than %d programs\n", MAX);
      return 64;
    }
    char **args = &argv[i];
    while (i < argc && strcmp(argv[i], "--") != 0) i++;
    argv[i < argc ? i : argc] = NULL; /* ends this program's arguments */
    int out[2], err[2], in[2];
    if (pipe2(out, O_CLOEXEC) || pipe2(err, O_CLOEXEC) || pipe2(in, O_CLOEXEC)) {
      perror("floor: pipe2");
      return 3;
    }
    pid_t pid = vfork();
    if (pid == 0) {
      if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(err[1], 2) < 0 || chroot(root) ||
          chdir("/"))
        _exit(126);
      execve(args[0], args, env);
      _exit(127);
    }
    if (pid < 0) {
      perror("floor: vfork");
      return 3;
    }
    close(in[0]);
    close(in[1]);
    close(out[1]);
    close(err[1]);
    pids[n] = pid;
    fds[2 * n] = (struct pollfd){.fd = out[0], .events = POLLIN};
    fds[2 * n + 1] = (struct pollfd){.fd = err[0], .events = POLLIN};
    n++;
    open += 2;
  }
  char buf[4096];
  while (open > 0) {
    if (poll(fds, 2 * n, 10000) <= 0) {
      fprintf(stderr, "floor: poll: %s\n", errno ? strerror(errno) : "timed out");
      return 3;
    }
    for (int j = 0; j < 2 * n; j++) {
      if (fds[j].fd < 0 || !fds[j].revents) continue;
      ssize_t r = read(fds[j].fd, buf, sizeof buf);
      if (r > 0) {
        got[j / 2] += r;
      } else {
        close(fds[j].fd);
        fds[j].fd = -1;
        open--;
      }
    }
  }
  int rc = 0;
  for (int k = 0; k < n; k++) {
    int st;
    if (waitpid(pids[k], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || got[k] == 0) {
      fprintf(stderr, "floor: program %d failed or printed nothing\n", k + 1);
      rc = 1;
    }
  }
  return rc;
}
