/*
 * sweep.c - the start-up sweep; see sweep.h.
 */
#include "sweep.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"
#include "fu_log.h"
#include "sanitize.h"

static time_t newest(const struct stat *sb)
{
    return sb->st_mtime > sb->st_ctime ? sb->st_mtime : sb->st_ctime;
}

static bool old_enough(time_t t, uint64_t age_s, time_t now)
{
    return now >= t && (uint64_t)(now - t) >= age_s;
}

static bool is_dot(const char *name)
{
    return strcmp(name, ".") == 0 || strcmp(name, "..") == 0;
}

/* ".raw.<pid>.part", ".task.json.part": our temp names */
static bool is_temp(const char *name)
{
    size_t n = strlen(name);

    return name[0] == '.' && n > 6 && strcmp(name + n - 5, ".part") == 0;
}

static bool is_final(const char *name)
{
    return strncmp(name, "raw.", 4) == 0 && name[4] != '\0';
}

static void remove_entry(int dirfd, const char *dir, const char *name,
                         int flags, unsigned *count, struct sweep_stats *st)
{
    if (unlinkat(dirfd, name, flags) == 0) {
        (*count)++;
        return;
    }
    if (errno == ENOENT) /* another process's sweep was first */
        return;
    st->errors++;
    fu_log_errno(FU_LOG_ERROR, NULL, "unlinkat", errno,
                 "start-up sweep: cannot remove %s/%s", dir, name);
}

/* What a task directory holds; false when it could not be read. */
struct task_dir_facts {
    bool has_record;
    bool has_final;
    time_t newest;
};

static bool read_facts(int dfd, const char *name, struct task_dir_facts *f,
                       struct sweep_stats *st)
{
    struct dirent *de;
    struct stat sb;
    DIR *d;

    d = fsu_opendir_at(dfd);
    if (!d) {
        st->errors++;
        fu_log_errno(FU_LOG_ERROR, NULL, "opendir", errno,
                     "start-up sweep: cannot list task %s", name);
        return false;
    }
    while ((de = readdir(d)) != NULL) {
        if (is_dot(de->d_name))
            continue;
        if (fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
            continue; /* gone meanwhile */
        if (newest(&sb) > f->newest)
            f->newest = newest(&sb);
        if (strcmp(de->d_name, "task.json") == 0)
            f->has_record = true;
        else if (is_final(de->d_name) && S_ISREG(sb.st_mode))
            f->has_final = true;
    }
    closedir(d);
    return true;
}

/* Remove temp files, and when incomplete the stored file. */
static void clear_task_dir(int dfd, const char *name, bool complete,
                           struct sweep_stats *st)
{
    struct dirent *de;
    struct stat sb;
    DIR *d;

    d = fsu_opendir_at(dfd);
    if (!d) {
        st->errors++;
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (is_dot(de->d_name) ||
            fstatat(dfd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(sb.st_mode))
            continue;
        if (is_temp(de->d_name) || (!complete && is_final(de->d_name)))
            remove_entry(dfd, name, de->d_name, 0, &st->files_removed, st);
    }
    closedir(d);
}

static void sweep_task_dir(int spool_fd, const char *name, uint64_t age_s,
                           bool record_in_dir, time_t now,
                           struct sweep_stats *st)
{
    struct task_dir_facts f = {false, false, 0};
    struct stat sb;
    bool complete;
    int dfd;

    dfd =
        openat(spool_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return; /* gone, not a directory, or a symbolic link: not ours */
    /* a submitted task: its temp files were renamed, nothing is left */
    if (fstatat(dfd, "task.json", &sb, AT_SYMLINK_NOFOLLOW) == 0)
        goto out_close;
    if (fstat(dfd, &sb) != 0)
        goto out_close;
    f.newest = newest(&sb);
    if (!old_enough(f.newest, age_s, now)) {
        st->young++;
        goto out_close;
    }
    if (fsu_held_elsewhere(dfd)) {
        st->held++;
        goto out_close;
    }
    /* we hold the lock now: no worker can be using the directory */
    if (!read_facts(dfd, name, &f, st))
        goto out_close;
    if (!old_enough(f.newest, age_s, now)) {
        st->young++;
        goto out_close;
    }
    complete = f.has_record || (!record_in_dir && f.has_final);
    clear_task_dir(dfd, name, complete, st);
    if (!complete) {
        if (unlinkat(spool_fd, name, AT_REMOVEDIR) == 0) {
            st->dirs_removed++;
        } else if (errno != ENOENT) {
            st->errors++;
            fu_log_errno(FU_LOG_WARNING, NULL, "unlinkat", errno,
                         "start-up sweep: incomplete task %s left in "
                         "place (it holds files that are not ours?)",
                         name);
        }
    }
out_close:
    close(dfd); /* drops the lock */
}

void sweep_spool(int spool_fd, uint64_t age_s, bool record_in_dir, time_t now,
                 struct sweep_stats *st)
{
    struct dirent *de;
    DIR *d;

    d = fsu_opendir_at(spool_fd);
    if (!d) {
        st->errors++;
        fu_log_errno(FU_LOG_ERROR, NULL, "opendir", errno,
                     "start-up sweep: cannot list the audio dir");
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (!uuid_text_valid(de->d_name, strlen(de->d_name)))
            continue; /* ".", "..", and anything that is not a task */
        sweep_task_dir(spool_fd, de->d_name, age_s, record_in_dir, now, st);
    }
    closedir(d);
}

static void sweep_queue_file(int dirfd, const char *name, uint64_t age_s,
                             time_t now, struct sweep_stats *st)
{
    struct stat sb;
    int fd;

    fd = openat(dirfd, name,
                O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return; /* gone, or a symbolic link */
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
        goto out_close;
    if (!old_enough(newest(&sb), age_s, now)) {
        st->young++;
        goto out_close;
    }
    if (fsu_held_elsewhere(fd)) {
        st->held++;
        goto out_close;
    }
    remove_entry(dirfd, "queue tmp", name, 0, &st->files_removed, st);
out_close:
    close(fd);
}

void sweep_queue_tmp(const char *queue_dir, uint64_t age_s, time_t now,
                     struct sweep_stats *st)
{
    char path[FU_PATH_MAX + 8];
    struct dirent *de;
    DIR *d;
    int dirfd;

    if (!queue_dir)
        return;
    snprintf(path, sizeof(path), "%s/tmp", queue_dir);
    dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0)
        return; /* no queue yet: nothing left behind */
    d = fsu_opendir_at(dirfd);
    if (!d) {
        st->errors++;
        fu_log_errno(FU_LOG_ERROR, NULL, "opendir", errno,
                     "start-up sweep: cannot list %s", path);
        close(dirfd);
        return;
    }
    while ((de = readdir(d)) != NULL)
        if (!is_dot(de->d_name))
            sweep_queue_file(dirfd, de->d_name, age_s, now, st);
    closedir(d);
    close(dirfd);
}

void sweep_run(const struct config *cfg, int spool_fd, bool record_in_dir,
               const char *queue_dir)
{
    struct sweep_stats st = {0, 0, 0, 0, 0};
    time_t now = time(NULL);
    struct fu_log_line l;

    sweep_spool(spool_fd, cfg->sweep_age_s, record_in_dir, now, &st);
    sweep_queue_tmp(queue_dir, cfg->sweep_age_s, now, &st);
    fu_log_begin(&l, st.errors ? FU_LOG_WARNING : FU_LOG_INFO, "sweep");
    json_obj_u64(&l.o, "age_s", cfg->sweep_age_s);
    json_obj_u64(&l.o, "dirs_removed", st.dirs_removed);
    json_obj_u64(&l.o, "files_removed", st.files_removed);
    json_obj_u64(&l.o, "held", st.held);
    json_obj_u64(&l.o, "young", st.young);
    json_obj_u64(&l.o, "errors", st.errors);
    fu_log_end(&l);
}
