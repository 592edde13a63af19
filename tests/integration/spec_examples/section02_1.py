from opencode.sessions import SessionManager

manager = SessionManager.get_instance()

# Resume specific session
session = manager.resume("550e8400-e29b-41d4-a716-446655440000")

# Resume most recent session
session = manager.resume_latest()

# Resume latest or create new
session = manager.resume_or_create(
    working_dir="/home/user/project",
    model="anthropic/claude-3-opus",
)
