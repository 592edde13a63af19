from opencode.sessions import SessionManager, Session

def on_session_start(session: Session):
    print(f"Session started: {session.id}")
    # Log to file, send notification, etc.

def on_session_end(session: Session):
    print(f"Session ended: {session.id}")
    print(f"Total tokens used: {session.total_tokens}")

def on_message_added(session: Session, message):
    print(f"Message added: {message.role}")

manager = SessionManager.get_instance()

# Register hooks
manager.register_hook("session:start", on_session_start)
manager.register_hook("session:end", on_session_end)
manager.register_hook("session:message", on_message_added)

# Create session - triggers session:start
session = manager.create()

# Add message - triggers session:message
manager.add_message("user", "Hello")

# Close - triggers session:end
manager.close()

# Unregister hooks
manager.unregister_hook("session:start", on_session_start)
