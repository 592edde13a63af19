# Update token counts after LLM call
manager.update_usage(
    prompt_tokens=1500,
    completion_tokens=800,
)

# Check totals
print(f"Total tokens: {session.total_tokens}")
# Total tokens: 2300
