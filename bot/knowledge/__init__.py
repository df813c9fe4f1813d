"""The knowledge base: a business's facts and questions with answers, and the customers'
questions answered from them."""
