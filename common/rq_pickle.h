/*
 * rq_pickle.h - the `data` and `description` of an RQ job, built in C.
 *
 * A pure library: no I/O, no global state, no allocation of its own (zlib
 * allocates its deflate state inside rq_zlib_compress()). Everything is
 * written into caller-owned buffers of a stated size; nothing is ever written
 * past them.
 *
 * What RQ expects (python3-rq 1.13, rq/job.py and rq/serializers.py):
 *  - Job.data is DefaultSerializer.dumps((func_name, instance, args, kwargs)),
 *    that is pickle.dumps of a 4-tuple; Job._deserialize_data() unpacks
 *    exactly four items with pickle.loads, which reads any protocol.
 *  - Job.to_dict() stores zlib.compress(job.data) (zlib's default level) in
 *    the `data` field of the job hash; Job.restore() zlib-decompresses it.
 *  - Job.create() sets `description` to get_call_string(func_name, args,
 *    kwargs, max_length=75) (rq/utils.py) when none is given.
 *
 * The pickle is protocol 2 with the fewest opcodes the types need: PROTO,
 * MARK, BINUNICODE, NONE, NEWTRUE/NEWFALSE, BININT1/BININT2/BININT/LONG1,
 * BINFLOAT, EMPTY_LIST/APPEND/APPENDS, EMPTY_DICT/SETITEMS, TUPLE1/TUPLE,
 * STOP. No memo opcodes: the few shared strings are cheaper written twice.
 * The bytes equal CPython 3.11's pickle of the same object with memo off
 * (pickle.Pickler(f, 2) with .fast = True), which for an object without
 * shared parts is pickletools.optimize(pickle.dumps(obj, 2));
 * tests/unit/test_rq_pickle.c checks both the bytes and what
 * pickle.loads() returns, against Debian's /usr/bin/python3.
 */
#ifndef FU_RQ_PICKLE_H
#define FU_RQ_PICKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where RQ truncates each argument's repr in a job description. */
#define RQ_DESCRIPTION_ARG_MAX 75

/*
 * The single positional argument of the worker function, pickled as a dict
 * with the keys in this order (dict order survives pickling, so the worker
 * sees the same order). Strings are NUL-terminated UTF-8 and must be valid
 * (rq_pickle_job() answers -EILSEQ otherwise: Python could not unpickle
 * them). The caller owns every pointer; nothing is kept after a call.
 */
struct rq_task_args {
    const char *task_id;
    const char *audio_path;
    const char *const *features; /* n_features strings -> list of str */
    size_t n_features;
    const char *template_id; /* NULL -> None */
    const char *asr_backend;
    bool enable_diarization;
    bool enable_vad;
    double vad_threshold;
    const char *redis_host;
    int64_t redis_port;
    int64_t redis_db;
    const char *correlation_id; /* NULL -> None */
};

/*
 * Write pickle.dumps((func_name, None, (args_dict,), {})) into out[0..cap).
 * Returns 0 and sets *len to the pickle's size; -ENOBUFS when cap is too
 * small (*len is then the size needed, so a call with out = NULL, cap = 0
 * measures); -EILSEQ when a string is not valid UTF-8; -EINVAL when a
 * required string (func_name, task_id, audio_path, asr_backend, redis_host,
 * a feature) is NULL or a string is 4 GiB or longer.
 */
int rq_pickle_job(const char *func_name, const struct rq_task_args *a,
                  unsigned char *out, size_t cap, size_t *len);

/* zlib's compressBound(n) as a constant expression, for array sizes. */
#define RQ_ZLIB_BOUND(n) ((n) + ((n) >> 12) + ((n) >> 14) + ((n) >> 25) + 13)

/* compressBound(in_len): the most rq_zlib_compress() can need. */
size_t rq_zlib_bound(size_t in_len);

/*
 * zlib.compress(in) as Python does it (zlib format, Z_DEFAULT_COMPRESSION),
 * into out[0..cap). Returns 0 and sets *out_len; -ENOBUFS when cap is too
 * small (give it rq_zlib_bound(in_len)); -ENOMEM when zlib cannot allocate
 * its state; -EINVAL when a size does not fit zlib's uLong.
 */
int rq_zlib_compress(const unsigned char *in, size_t in_len, unsigned char *out,
                     size_t cap, size_t *out_len);

/*
 * RQ's default job description, as Job.create() makes it:
 * "<func_name>(<repr(args_dict) cut to 75 characters>...)". The cut always
 * falls within the first five keys, so only strings, the list and None are
 * ever rendered. Python's str repr is reproduced (quote choice, backslash
 * escapes, lowercase hex); for non-ASCII text str.isprintable() is
 * approximated: the C1 controls, separators other than the space, the
 * common format characters, surrogates, private-use code points and
 * noncharacters are escaped, unassigned code points are not. The text is
 * NUL-terminated in out[0..cap). Returns 0 and sets *len (without the NUL);
 * -ENOBUFS when cap is too small (out is then an empty string); -EINVAL /
 * -EILSEQ as rq_pickle_job(). A cap of strlen(func_name) + 2 +
 * 4 * RQ_DESCRIPTION_ARG_MAX + 4 always suffices.
 */
int rq_job_description(const char *func_name, const struct rq_task_args *a,
                       char *out, size_t cap, size_t *len);

#endif
