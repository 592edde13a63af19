# /session command implementation
async def handle_session_command(args: str) -> str:
    manager = SessionManager.get_instance()

    if not args:
        # Show current session info
        if manager.has_current:
            s = manager.current_session
            return f"""
Session: {s.id}
Title: {s.title}
Messages: {s.message_count}
Tokens: {s.total_tokens}
Created: {s.created_at}
Updated: {s.updated_at}
"""
        return "No active session"

    parts = args.split()
    subcommand = parts[0]

    if subcommand == "list":
        sessions = manager.list_sessions(limit=10)
        lines = [f"Recent sessions ({len(sessions)}):"]
        for s in sessions:
            lines.append(f"  {s.id[:8]}... {s.title} ({s.message_count} msgs)")
        return "\n".join(lines)

    elif subcommand == "new":
        manager.close()
        session = manager.create()
        return f"New session: {session.id}"

    elif subcommand == "resume":
        session_id = parts[1] if len(parts) > 1 else None
        if session_id:
            # Find matching session
            sessions = manager.list_sessions()
            for s in sessions:
                if s.id.startswith(session_id):
                    manager.resume(s.id)
                    return f"Resumed: {s.title}"
            return f"Session not found: {session_id}"
        else:
            session = manager.resume_latest()
            if session:
                return f"Resumed: {session.title}"
            return "No sessions to resume"

    elif subcommand == "title":
        title = " ".join(parts[1:])
        manager.set_title(title)
        return f"Title set: {title}"

    elif subcommand == "tag":
        tag = parts[1] if len(parts) > 1 else None
        if tag:
            manager.add_tag(tag)
            return f"Tag added: {tag}"
        return "Usage: /session tag <name>"

    return f"Unknown subcommand: {subcommand}"
