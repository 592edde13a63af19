# Manual save (also happens automatically)
manager.save()

# Close session (saves and cleans up)
manager.close()

# Check if session is active
if manager.has_current:
    print(f"Active session: {manager.current_session.title}")
