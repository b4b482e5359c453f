"""tfgen: Aurora PostgreSQL Serverless Terraform modules from a short YAML spec."""

__version__ = "0.1.0"
