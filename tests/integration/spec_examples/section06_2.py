from opencode.sessions import (
    SessionStorage,
    SessionNotFoundError,
    SessionCorruptedError,
    SessionStorageError,
)

storage = SessionStorage()

try:
    session = storage.load("nonexistent-id")
except SessionNotFoundError:
    print("Session not found")

try:
    session = storage.load("corrupted-id")
except SessionCorruptedError:
    # Try to recover from backup
    if storage.recover_from_backup("corrupted-id"):
        session = storage.load("corrupted-id")
    else:
        print("Cannot recover session")
except SessionStorageError as e:
    print(f"Storage error: {e}")
