from opencode.sessions import Session, SessionMessage, ToolInvocation
from datetime import datetime, timezone

# Create session
session = Session(
    title="My session",
    working_dir="/home/user/project",
    model="anthropic/claude-3-opus",
)

# Add message directly
message = SessionMessage(
    role="user",
    content="Hello, world!",
)
session.add_message(message)

# Or using helper method
session.add_message_from_dict("assistant", "Hello! How can I help?")

# Record tool call directly
invocation = ToolInvocation(
    tool_name="bash",
    arguments={"command": "ls"},
    result={"output": "file1.py\nfile2.py"},
    duration=0.05,
)
session.add_tool_invocation(invocation)

# Or using helper method
session.record_tool_call(
    tool_name="read",
    arguments={"file_path": "file1.py"},
    result={"content": "..."},
)
