"""The vault's subjects and their encrypted records."""

from dataward.subjects.service import ReadResult, SubjectService

__all__ = ["ReadResult", "SubjectService"]
