#!/usr/bin/env python3
"""suitecpu.py CMD...: run CMD as a child subreaper, so orphaned descendants (node pools
outliving their test binary) are reaped here and their CPU counted; print wall and CPU."""
import ctypes, os, resource, subprocess, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
t0 = time.time()
rc = subprocess.call(sys.argv[1:])
t1 = time.time()
while True:
    try:
        os.wait()
    except ChildProcessError:
        break
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(f"exit {rc}; wall {t1-t0:.1f} s; CPU user {r.ru_utime:.1f} s + sys {r.ru_stime:.1f} s = {r.ru_utime+r.ru_stime:.1f} s; load {open('/proc/loadavg').read().split()[:3]}", file=sys.stderr)
sys.exit(rc)
