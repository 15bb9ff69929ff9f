"""HTTP serving: a FastAPI app over a workspace's trained recommender."""
