from opencode.sessions import SessionManager
from opencode.hooks import fire_event, HookEvent, HookRegistry, Hook

# Register a shell hook for session events
registry = HookRegistry.get_instance()
registry.register(Hook(
    event_pattern="session:start",
    command='echo "Session $OPENCODE_SESSION_ID started" >> /tmp/sessions.log',
))

# Session manager integration
async def on_session_start(session):
    event = HookEvent.session_start(session.id)
    await fire_event(event)

manager = SessionManager.get_instance()
manager.register_hook("session:start", lambda s: asyncio.run(on_session_start(s)))
