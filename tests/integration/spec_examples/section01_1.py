from opencode.sessions import SessionManager

# Get singleton manager
manager = SessionManager.get_instance()

# Create a new session
session = manager.create(
    title="Refactoring API client",
    working_dir="/home/user/project",
    model="anthropic/claude-3-opus",
    tags=["refactoring", "api"],
)

print(f"Session ID: {session.id}")
# Session ID: 550e8400-e29b-41d4-a716-446655440000
