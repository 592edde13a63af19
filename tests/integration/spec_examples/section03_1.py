from opencode.sessions import SessionManager

manager = SessionManager.get_instance()

# List recent sessions
sessions = manager.list_sessions(limit=10)

for s in sessions:
    print(f"{s.title} - {s.message_count} messages - {s.updated_at}")

# Output:
# Refactoring API client - 15 messages - 2024-01-15 11:45:00
# Implementing auth - 32 messages - 2024-01-14 16:30:00
# Bug fix in parser - 8 messages - 2024-01-13 09:15:00
