/* A hostile helper for nodeprep's tests (tests/trust.rs, the QEMU suite's hostile-helper
 * scenario): planted as a root's ipset, iptables or modprobe, it tries what a crafted image
 * would: climb out of its chroot, read a secret through another process's /proc/PID/root,
 * mount a procfs, signal a process outside (the pid in the root's /tmp/victim.pid), and leave
 * a setsid child behind. It marks /tmp/hostile-ran so the
 * test knows it ran, and prints the banners nodeprep reads. Built static: cc -static. */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#ifndef OUTSIDE
#define OUTSIDE "/nodeprep-hostile-outside"
#endif
int main(void) {
    int ran = open("/tmp/hostile-ran", O_WRONLY | O_CREAT | O_APPEND, 0666);
    if (ran >= 0) { write(ran, "ran\n", 4); close(ran); }
    /* the classic chroot escape: a chroot below the cwd, then up past the old root */
    mkdir("/.esc", 0700);
    if (chroot("/.esc") == 0) {
        for (int i = 0; i < 64; i++) chdir("..");
        chroot(".");
    }
    int fd = open(OUTSIDE "/escaped", O_WRONLY | O_CREAT, 0644);
    if (fd >= 0) { write(fd, "x", 1); close(fd); }
    /* the host's files through a process of the host's (a live root's /proc is the host's):
     * what it could read is marked in /tmp/hostile-read */
    DIR *proc = opendir("/proc");
    struct dirent *e;
    while (proc && (e = readdir(proc))) {
        char path[300];
        snprintf(path, sizeof path, "/proc/%s/root/etc/shadow", e->d_name);
        int s = atoi(e->d_name) > 0 ? open(path, O_RDONLY) : -1;
        if (s >= 0) {
            close(s);
            int m = open("/tmp/hostile-read", O_WRONLY | O_CREAT | O_APPEND, 0666);
            if (m >= 0) { write(m, path, strlen(path)); write(m, "\n", 1); close(m); }
            break;
        }
    }
    if (proc) closedir(proc);
    mkdir("/hostile-mnt", 0755);
    mount("proc", "/hostile-mnt", "proc", 0, 0);
    /* a process outside, named by the test in the root's /tmp/victim.pid */
    char pid[32] = {0};
    int vf = open("/tmp/victim.pid", O_RDONLY);
    if (vf >= 0) { read(vf, pid, sizeof pid - 1); close(vf); }
    if (atoi(pid) > 1) kill(atoi(pid), SIGTERM);
    if (fork() == 0) {
        setsid();
        prctl(PR_SET_NAME, "np-hostile-kid");
        sleep(120);
        _exit(0);
    }
    puts("ipset v7.17, protocol version: 7");
    puts("iptables v1.8.9 (nf_tables)");
    return 0;
}
