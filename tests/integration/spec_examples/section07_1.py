from opencode.sessions import SessionStorage, SessionIndex

storage = SessionStorage()
index = SessionIndex(storage)

# Get session count
print(f"Total sessions: {index.count()}")

# Check if session is indexed
if "session-id" in index:
    summary = index.get("session-id")
    print(f"Session: {summary.title}")

# Get recent sessions
recent = index.get_recent(count=5)

# Get sessions by working directory
project_sessions = index.get_by_working_dir("/home/user/project")

# Rebuild index from session files
index.rebuild()

# Save index changes
index.save_if_dirty()
