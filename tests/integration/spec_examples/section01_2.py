# Add user message
manager.add_message("user", "Help me refactor the API client")

# Add assistant message
manager.add_message(
    "assistant",
    "I'll help you refactor the API client. Let me start by reading the current code.",
)

# Add assistant message with tool calls
manager.add_message(
    "assistant",
    "I'll read the file first.",
    tool_calls=[{
        "id": "call_abc123",
        "type": "function",
        "function": {
            "name": "read",
            "arguments": '{"file_path": "/home/user/project/api.py"}'
        }
    }],
)

# Add tool result
manager.add_message(
    "tool",
    "class APIClient:\n    def __init__(self):\n        ...",
    tool_call_id="call_abc123",
    name="read",
)
