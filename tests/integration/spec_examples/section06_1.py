from opencode.sessions import SessionStorage, Session
from pathlib import Path

# Default storage
storage = SessionStorage()

# Custom storage directory
storage = SessionStorage(Path("/custom/path/sessions"))

# Project-local storage
storage = SessionStorage(
    SessionStorage.get_project_dir("/home/user/project")
)

# Save session
session = Session(title="Test")
storage.save(session)

# Load session
session = storage.load(session.id)

# Check if exists
if storage.exists(session.id):
    print("Session exists")

# Delete
storage.delete(session.id)

# List all session IDs
for sid in storage.list_session_ids():
    print(sid)
