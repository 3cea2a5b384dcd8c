"""Stand-in for src.worker.pipeline of the service fcgi_upload feeds.

A stock `rq worker` imports process_audio_task from here (PYTHONPATH points
at tests/integration/rqpkg) and calls it with the one positional argument
rq_store_submit() pickled. It records that argument as one JSON line in the
file named by RQTEST_RECORD (types and key order survive JSON: str, None,
bool, int, float), then marks the task COMPLETE in its hash the way the
original worker does: a Redis client on redis_host/redis_port/redis_db from
the argument, HSET task:<id> status COMPLETE. RQTEST_REDIS_SOCKET, when set,
replaces host and port (the test's Redis listens on a unix socket only).
"""
import json
import os

import redis


def process_audio_task(args):
    with open(os.environ["RQTEST_RECORD"], "a", encoding="utf-8") as f:
        f.write(json.dumps(args) + "\n")
    sock = os.environ.get("RQTEST_REDIS_SOCKET")
    if sock:
        r = redis.Redis(unix_socket_path=sock, db=args["redis_db"])
    else:
        r = redis.Redis(host=args["redis_host"], port=args["redis_port"],
                        db=args["redis_db"])
    r.hset("task:%s" % args["task_id"], "status", "COMPLETE")
    return {"task_id": args["task_id"], "status": "COMPLETE"}
