"""Image captioning: a pretrained CNN (MobileNetV2) and an LSTM with soft visual attention (Show, Attend and Tell).

  python -m apps.caption photo.jpg                  one caption per image (shipped model)
  python -m apps.caption photos/ more.png           a folder's images too, batched, with a progress bar
  find . -name '*.jpg' | python -m apps.caption -   paths on stdin
  python -m apps.caption --attention att.png cat.jpg   the image, then each word's attention over it
  python -m apps.caption --json --beam 1 cat.jpg    caption, score, where each word looked
  python -m apps.caption train --out runs/caption   StampScenes (12,000 generated scenes; CNN features
        cached, so a second run starts in seconds), or --data FOLDER (Flickr8k style), --data FILE.json
        (COCO style), --data tfds (coco_captions, prepared)
  python -m apps.caption eval --model-dir runs/caption --plot scenes.png   BLEU-1..4 greedy and beam;
        on StampScenes, how much attention falls on the object each word names
  python -m apps.caption export --model-dir runs/caption --out exported/  image bytes in, caption out

`--model-dir DIR` uses a model of your own. Run any command with --help for its options.
"""
