# To dictionary
data = session.to_dict()

# To JSON string
json_str = session.to_json(indent=2)

# From dictionary
session = Session.from_dict(data)

# From JSON string
session = Session.from_json(json_str)
