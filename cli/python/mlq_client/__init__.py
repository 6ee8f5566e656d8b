"""mlq_client: a small Python client for the mlq scheduler's HTTP API.

Standard library only. Quick start::

    from mlq_client import Client

    c = Client("http://127.0.0.1:8080", "TOKEN")   # or $MLQ_URL / $MLQ_TOKEN
    job = c.submit(["sh", "-c", "echo hello"], name="hello")
    job.wait(timeout=60)
    print(job.logs())
"""

from .client import TERMINAL_STATES, Array, Client, Job
from .errors import (
    Conflict,
    InvalidRequest,
    MlqError,
    NotFound,
    Overloaded,
    PermissionDenied,
    TooLarge,
    Unauthorized,
    Unreachable,
    WaitTimeout,
)

__version__ = "0.1.0"

__all__ = [
    "Client",
    "Job",
    "Array",
    "TERMINAL_STATES",
    "MlqError",
    "InvalidRequest",
    "Unauthorized",
    "PermissionDenied",
    "NotFound",
    "Conflict",
    "TooLarge",
    "Overloaded",
    "Unreachable",
    "WaitTimeout",
]
