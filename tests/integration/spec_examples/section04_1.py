# Set session title
manager.set_title("Refactoring the API client for v2")

# Auto-generate title from first message
title = manager.generate_title(session)
manager.set_title(title)

# Add tags
manager.add_tag("python")
manager.add_tag("refactoring")

# Remove tag
manager.remove_tag("draft")

# Session metadata
session.metadata["git_branch"] = "feature/api-v2"
session.metadata["priority"] = "high"
