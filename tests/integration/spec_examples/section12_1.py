from opencode.sessions import SessionManager

def get_prompt() -> str:
    """Build REPL prompt with session info."""
    manager = SessionManager.get_instance()

    if manager.has_current:
        session = manager.current_session
        tokens = session.total_tokens
        msg_count = session.message_count

        return f"[{msg_count} msgs | {tokens} tokens] You: "
    else:
        return "You: "
