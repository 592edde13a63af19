# Delete by ID
deleted = manager.delete("550e8400-e29b-41d4-a716-446655440000")
if deleted:
    print("Session deleted")
