"""The page's captioning: a photo in (an upload, or a generated StampScene), the caption out, and
each word's attention over the photo's grid of locations.

The upload is read in memory (`apps.caption.images.read_image`: any Pillow format, a clear error
for anything else) and handed to the SavedModel's `generate_with_beam` as PNG bytes, as
`python -m apps.caption` does; it is never written to disk. The page lays each word's weights,
one per grid cell (gh x gw), over the picture.
"""

from apps.explore.inputs import InputError
from apps.explore.pictures import png_of

MAX_PAGE_BEAM = 8


def answer(models, fields, files):
    import tensorflow as tf

    from apps.caption.captioning import caption_doubt
    from apps.caption.encoder import ENCODERS
    from apps.caption.images import ImageError, png_bytes, read_image
    from apps.common.serving import token_list
    from apps.common.task import DEFAULT_BEAM_SIZE

    loaded = models.get("caption", fields.values.get("model"))
    config = loaded.config()
    spec = ENCODERS[config.get("arguments", {}).get("encoder", "mobilenet_v2")]
    beam = fields.integer("beam", config.get("beam_size", DEFAULT_BEAM_SIZE), 1, MAX_PAGE_BEAM)
    source, name = picture(fields, files)
    try:
        image = read_image(source, spec.image_size, keep_display=True)
    except ImageError as error:
        raise InputError(f"{name}: {str(error).split(': ', 1)[-1]}") from None
    outputs = loaded.signature("generate_with_beam")(image_bytes=tf.constant([png_bytes(image.model_input)]),
                                                     beam_size=tf.constant(beam))
    words = token_list(outputs["tokens"].numpy()[0])
    caption = outputs["text"].numpy()[0].decode("utf-8")
    attention = outputs["attention"].numpy()[0][: len(words)].astype(float)
    score = round(float(outputs["score"].numpy()[0]), 4)
    return {"model": loaded.name, "beam": beam, "caption": caption, "score": score,
            "words": words, "grid": list(spec.grid), "attention": attention.round(4).tolist(),
            "image": png_of(image.display), "warning": caption_doubt(image.model_input, caption)}


def picture(fields, files):
    """(an uploaded file's bytes, or a StampScene's pixels; its name for messages)."""
    upload = files.get("image")
    if upload is not None:
        data = upload.read()
        if not data:
            raise InputError("image: the file is empty")
        return data, "image"
    if fields.values.get("example") not in (None, ""):
        from datasets.captions import stamp_scenes

        seed = fields.integer("example", 0, 0, 1_000_000)
        return stamp_scenes("test", 1, seed=seed)[0].image, f"example {seed}"
    raise InputError("image: choose a photo (or try an example)")
