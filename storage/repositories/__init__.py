"""The SQLAlchemy repositories, one module per repository, named after the port it implements."""
