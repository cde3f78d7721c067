"""Attack: hold memory in memfds (shared pages, in no process's RSS) until something stops it.

Each memfd stays under the 64 MB file-size limit; 160 of them hold 9.6 GB, far over any exercise's limit.
"""
import os
import time

block = b"\x01" * (60 * 2**20)
hoard = []
for _ in range(160):
    descriptor = os.memfd_create("hoard")
    os.write(descriptor, block)
    hoard.append(descriptor)
time.sleep(3600)
