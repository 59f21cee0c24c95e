"""Data-subject rights: requests, export, erasure, and their propagation to processors (Art. 19)."""
