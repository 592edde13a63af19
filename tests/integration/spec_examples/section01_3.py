# Record a tool invocation
import time

start = time.perf_counter()
# ... tool execution ...
duration = time.perf_counter() - start

manager.record_tool_call(
    tool_name="bash",
    arguments={"command": "git status"},
    result={"output": "On branch main\nnothing to commit"},
    duration=duration,
    success=True,
)

# Record a failed tool call
manager.record_tool_call(
    tool_name="read",
    arguments={"file_path": "/nonexistent.py"},
    result=None,
    success=False,
    error="FileNotFoundError: /nonexistent.py",
)
