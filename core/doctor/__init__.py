"""`doctor`: before anything is written, what would stop `exec`/`attach` on a process, and how to fix it."""

from core.doctor.diagnose import diagnose
from core.doctor.model import Diagnosis, Finding, Status

__all__ = ["Diagnosis", "Finding", "Status", "diagnose"]
