def image_encoder(): pass
def embed_images(): pass
