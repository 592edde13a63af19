# Filter by tags
python_sessions = manager.list_sessions(tags=["python"])

# Search by title
results = manager.list_sessions(search="refactor")

# Sort by different fields
by_title = manager.list_sessions(sort_by="title", descending=False)
by_tokens = manager.list_sessions(sort_by="total_tokens", descending=True)

# Pagination
page_2 = manager.list_sessions(limit=10, offset=10)
