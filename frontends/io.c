/* Helpers shared by the readers and writers of frontends/ (internal; see
 * io.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#ifdef __has_include
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h>
#define IO_HAVE_OPENAT2 1
#endif
#endif

#include "io.h"

/* --- atomic writes ------------------------------------------------------------------ */

/* A temporary file of path is "<path>.tmp.<6 characters of [A-Za-z0-9]>"
 * in path's directory: the only names the stale-file sweep may remove. */
#define TMP_SUFFIX ".tmp."
#define TMP_RANDOM 6

static const char tmp_chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

static bool is_tmp_name(const char *name, const char *base) {
    size_t bl = strlen(base), sl = sizeof TMP_SUFFIX - 1;
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, TMP_SUFFIX, sl) != 0) return false;
    const char *r = name + bl + sl;
    if (strlen(r) != TMP_RANDOM) return false;
    for (int i = 0; i < TMP_RANDOM; i++)
        if (!r[i] || !strchr(tmp_chars, r[i])) return false;
    return true;
}

/* path split into a directory (".": none given) and a final component, in
 * one new allocation each; false when out of memory. */
static bool split_path(const char *path, char **dir, char **base) {
    const char *slash = strrchr(path, '/');
    *dir = slash ? rc_malloc((size_t)(slash - path) + 2) : rc_strdup(".");
    *base = rc_strdup(slash ? slash + 1 : path);
    if (!*dir || !*base) {
        rc_free(*dir);
        rc_free(*base);
        return false;
    }
    if (slash) {
        size_t n = slash == path ? 1 : (size_t)(slash - path); /* "/x" -> "/" */
        memcpy(*dir, path, n);
        (*dir)[n] = 0;
    }
    return true;
}

/* Remove the temporary files an earlier writer of `base` left when it was
 * killed. A live writer holds an exclusive flock on its temporary file from
 * before it starts writing until after the rename, so a file whose lock we
 * can take belongs to nobody. Only our own regular files with the exact
 * temporary pattern are considered. Best effort: errors are ignored (the
 * save itself does not depend on it). */
static void remove_stale_temps(int dfd, const char *base) {
    int scan = dup(dfd);
    DIR *d = scan >= 0 ? fdopendir(scan) : NULL;
    if (!d) {
        if (scan >= 0) close(scan);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!is_tmp_name(e->d_name, base)) continue;
        int fd = openat(dfd, e->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) continue;
        struct stat sb;
        if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_uid == geteuid() && flock(fd, LOCK_EX | LOCK_NB) == 0)
            unlinkat(dfd, e->d_name, 0);
        close(fd); /* releases the lock */
    }
    closedir(d);
}

/* Create and lock a fresh temporary file for base in dfd: mode 0666 so the
 * umask decides, as for any new file. Returns the fd (name in tmp) or -1
 * with errno set. */
static int create_temp(int dfd, const char *base, char *tmp, size_t tmplen) {
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned char r[TMP_RANDOM];
        if (getrandom(r, sizeof r, 0) != (ssize_t)sizeof r) {
            /* no entropy source: any distinct names will do, O_EXCL decides */
            for (int i = 0; i < TMP_RANDOM; i++) r[i] = (unsigned char)(rand() ^ (getpid() >> i) ^ attempt);
        }
        char rnd[TMP_RANDOM + 1];
        for (int i = 0; i < TMP_RANDOM; i++) rnd[i] = tmp_chars[r[i] % (sizeof tmp_chars - 1)];
        rnd[TMP_RANDOM] = 0;
        snprintf(tmp, tmplen, "%s" TMP_SUFFIX "%s", base, rnd);
        int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
        if (fd < 0) {
            if (errno == EEXIST) continue;
            return -1;
        }
        /* A sweeper may have opened the name between our create and lock:
         * if it holds the lock, or already unlinked the file, start over. */
        struct stat sb;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0 && fstat(fd, &sb) == 0 && sb.st_nlink > 0) return fd;
        close(fd);
    }
    errno = EEXIST;
    return -1;
}

static bool write_all(int fd, const void *buf, size_t n) {
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = EIO;
            return false;
        }
        p += w;
        n -= (size_t)w;
    }
    return true;
}

/* A path that exists and is not a regular file (/dev/stdout, a pipe) is
 * written directly: renaming over it would replace the device. */
static rc_status write_direct(const char *path, const io_part *parts, int nparts, rc_error *err, const char *fn) {
    int fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return rc_error_set(err, RC_ERR_IO, fn, "cannot write '%s': %s", path, strerror(errno));
    int e = 0;
    for (int i = 0; i < nparts && !e; i++)
        if (!write_all(fd, parts[i].data, parts[i].len)) e = errno;
    if (close(fd) != 0 && !e) e = errno;
    return e ? rc_error_set(err, RC_ERR_IO, fn, "cannot write '%s': %s", path, strerror(e)) : RC_OK;
}

rc_status io_write_atomic(const char *path, const io_part *parts, int nparts, rc_error *err, const char *fn) {
    if (!path || !*path) return rc_error_set(err, RC_ERR_ARG, fn, "the file name is empty");
    struct stat old;
    bool exists = stat(path, &old) == 0;
    if (exists && !S_ISREG(old.st_mode)) return write_direct(path, parts, nparts, err, fn);
    char *dir, *base;
    if (!split_path(path, &dir, &base)) return rc_error_set(err, RC_ERR_NOMEM, fn, "%s: out of memory", path);
    rc_status st = RC_OK;
    size_t tmplen = strlen(base) + sizeof TMP_SUFFIX + TMP_RANDOM + 1;
    char *tmp = rc_malloc(tmplen);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd = -1;
    bool created = false;
    if (!tmp) {
        st = rc_error_set(err, RC_ERR_NOMEM, fn, "%s: out of memory", path);
        goto out;
    }
    if (dfd < 0) {
        st = rc_error_set(err, RC_ERR_IO, fn, "cannot write '%s': cannot create a temporary file in its "
                          "directory: %s", path, strerror(errno));
        goto out;
    }
    remove_stale_temps(dfd, base);
    fd = create_temp(dfd, base, tmp, tmplen);
    if (fd < 0) {
        st = rc_error_set(err, RC_ERR_IO, fn, "cannot write '%s': cannot create a temporary file in its "
                          "directory: %s", path, strerror(errno));
        goto out;
    }
    created = true;
    /* an existing file keeps its mode; a new one has what the umask gave */
    if (exists && fchmod(fd, old.st_mode & 07777) != 0) {
        st = rc_error_set(err, RC_ERR_IO, fn, "%s: cannot give the new file the old one's mode: %s; the existing file "
                          "is untouched", path, strerror(errno));
        goto out;
    }
    bool ok = true;
    for (int i = 0; ok && i < nparts; i++) ok = write_all(fd, parts[i].data, parts[i].len);
    if (!ok || fsync(fd) != 0) {
        st = rc_error_set(err, RC_ERR_IO, fn, "%s: writing the temporary file failed: %s; the existing file is untouched",
                          path, strerror(errno));
        goto out;
    }
    /* renamed while still locked (a sweeper must not take it meanwhile) */
    if (renameat(dfd, tmp, dfd, base) != 0) {
        st = rc_error_set(err, RC_ERR_IO, fn, "%s: renaming the temporary file over it failed: %s", path,
                          strerror(errno));
        goto out;
    }
    created = false;
    /* make the rename itself durable */
    if (fsync(dfd) != 0 && errno != EINVAL)
        st = rc_error_set(err, RC_ERR_IO, fn, "%s: syncing its directory failed: %s", path, strerror(errno));
out:
    if (created) unlinkat(dfd, tmp, 0);
    if (fd >= 0 && close(fd) != 0 && st == RC_OK)
        st = rc_error_set(err, RC_ERR_IO, fn, "%s: closing the file failed: %s", path, strerror(errno));
    if (dfd >= 0) close(dfd);
    rc_free(tmp);
    rc_free(dir);
    rc_free(base);
    return st;
}

/* --- paths ---------------------------------------------------------------------------- */

char *io_path_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    bool sep = a && dir[a - 1] != '/';
    char *p = rc_malloc(a + sep + b + 1);
    if (!p) return NULL;
    memcpy(p, dir, a);
    if (sep) p[a] = '/';
    memcpy(p + a + sep, name, b + 1);
    return p;
}

char *io_dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    if (!slash) return rc_strdup(".");
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    char *d = rc_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, path, n);
    d[n] = 0;
    return d;
}

/* The fallback of io_open_beneath for kernels without openat2 (before
 * Linux 5.6) or where it is filtered (seccomp): the same promise, checked by
 * hand. No absolute path, no ".." component; the file is opened, and the
 * real path of what was opened must lie under the real path of the
 * directory (so a symlink anywhere on the way that leaves it is refused). */
static int open_beneath_fallback(int dirfd, const char *rel) {
    if (rel[0] == '/') return errno = EXDEV, -1;
    for (const char *c = rel; *c;) {
        size_t n = strcspn(c, "/");
        if (n == 2 && c[0] == '.' && c[1] == '.') return errno = EXDEV, -1;
        c += n;
        while (*c == '/') c++;
    }
    int fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return -1;
    char self[64], dself[64];
    snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
    snprintf(dself, sizeof dself, "/proc/self/fd/%d", dirfd);
    char *real = realpath(self, NULL), *dreal = realpath(dself, NULL); /* path-lint: bounded (an fd number) */
    size_t dl = dreal ? strlen(dreal) : 0;
    bool inside = real && dreal &&
                  (strcmp(dreal, "/") == 0 || (strncmp(real, dreal, dl) == 0 && real[dl] == '/'));
    free(real);
    free(dreal);
    if (!inside) {
        close(fd);
        return errno = EXDEV, -1;
    }
    return fd;
}

int io_open_beneath(int dirfd, const char *rel) {
#if defined(IO_HAVE_OPENAT2) && defined(SYS_openat2)
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) return (int)fd;
    /* ENOSYS: an older kernel; EPERM: a seccomp filter refusing the call */
#endif
    return open_beneath_fallback(dirfd, rel);
}
