/*
 * sweep.h - the start-up sweep: what killed workers left behind.
 *
 * A worker killed mid-upload (SIGKILL, OOM killer, power loss) leaves its
 * task directory AUDIO_DIR/<task_id>/ with a temp file .raw.<pid>.part, or,
 * killed between the rename and the task record, raw.<ext> and perhaps
 * .task.json.part, but never task.json; a queue entry it was writing stays
 * in QUEUE_DIR/tmp/. None of these was answered with 202 or can be seen by
 * a task worker (the record and the queue entry come last, each by an
 * atomic rename), so removing them loses nothing. Every FastCGI worker
 * process runs the sweep once when it starts, before it accepts requests
 * (a CGI run, one process per request, does not).
 *
 * What is removed, each only when it is older than APP_WORKER__SWEEP_AGE_S
 * and not held by a live worker:
 *  - temp files (".*.part") in task directories;
 *  - task directories that are incomplete: with a store that keeps its
 *    record in the directory (task.json: the filesystem store), every one
 *    without task.json, with its raw.<ext>; with a store that keeps it
 *    elsewhere (Redis), only those without raw.<ext> (a stored file
 *    without a record cannot be told from one with a record here, so it
 *    is left);
 *  - every file in QUEUE_DIR/tmp/.
 * Names that are not ours (not a UUID, unknown files in a task directory,
 * symbolic links) are never touched; a directory holding one stays.
 *
 * "Held by a live worker": the thread that creates a task directory holds
 * an flock on it from just after mkdirat() until its request ends, and every
 * temp file written by fsu_write_atomic() is held while it exists
 * (fsu_hold). The kernel drops these locks when the holder dies, whatever
 * kills it, and they do not depend on PIDs (a PID in the name, checked with
 * kill(pid, 0), would be fooled by a reused PID and cannot cover the
 * moments before the temp file exists or after its rename). The age covers
 * the microseconds between mkdirat() and flock(), and filesystems without
 * flock (NFS without lockd), where it is the only protection: the default
 * (an hour) is far longer than any upload can go without writing, since
 * nginx drops a client that sends nothing for client_body_timeout (60 s).
 * The age of a task directory is that of its newest entry (mtime or ctime).
 */
#ifndef FU_SWEEP_H
#define FU_SWEEP_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

struct config;

struct sweep_stats {
    unsigned dirs_removed;  /* incomplete task directories */
    unsigned files_removed; /* temp files and files of incomplete tasks */
    unsigned held;          /* left: held by a live worker */
    unsigned young;         /* left: younger than the age */
    unsigned errors;        /* failed steps (logged) */
};

/* The sweep of AUDIO_DIR (spool_fd, borrowed) and of the queue's tmp/
 * directory under queue_dir (NULL: none), with the age and completeness
 * rule above, at time now; adds to *st. */
void sweep_spool(int spool_fd, uint64_t age_s, bool record_in_dir, time_t now,
                 struct sweep_stats *st);
void sweep_queue_tmp(const char *queue_dir, uint64_t age_s, time_t now,
                     struct sweep_stats *st);

/* Both, with the configured age, and one log line with the counts.
 * queue_dir NULL when the store has no queue directory. */
void sweep_run(const struct config *cfg, int spool_fd, bool record_in_dir,
               const char *queue_dir);

#endif
