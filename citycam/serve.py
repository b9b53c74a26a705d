"""`python -m citycam.serve APP ...`: uvicorn, in a process that dies with the one that started it.

`citycam up` runs each service through this module rather than `-m uvicorn`, so that a supervisor killed
with SIGKILL (no chance to stop anything) leaves no service holding its port. The death signal is set at
import, which also covers uvicorn's `--workers`: they are started with multiprocessing's spawn, which
imports this module again in each worker (as `__mp_main__`), whose parent is then the uvicorn master.
"""

import signal

from citycam import linux

linux.die_with_parent(signal.SIGKILL)

if __name__ == "__main__":
    import uvicorn

    uvicorn.main()
