# Clean up sessions older than 30 days, keeping at least 10
deleted_ids = storage.cleanup_old_sessions(
    max_age_days=30,
    keep_minimum=10,
)

print(f"Deleted {len(deleted_ids)} old sessions")

# Get storage size
size_bytes = storage.get_storage_size()
print(f"Storage size: {size_bytes / 1024:.1f} KB")
