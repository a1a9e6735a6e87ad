"""`zoo sample | reconstruct | interpolate`: VAEs on device (numpy + LiteRT).

The artifact's manifest says which task it is: a text VAE prints
sentences; an image VAE writes a PNG (`--out`) with the pure-numpy writer of
`ondevice.png`, and prints where it went.
"""

import numpy as np

from ondevice.errors import ArtifactError, InputError
from ondevice.manifest import load_manifest
from ondevice.png import image_grid, write_png
from ondevice.vae import ImageVAERunner, SentenceVAERunner, load_image_file


def _load(artifact, threads):
    task = load_manifest(artifact).task
    if task == "text_vae":
        return SentenceVAERunner.from_artifact(artifact, num_threads=threads)
    if task == "image_vae":
        return ImageVAERunner.from_artifact(artifact, num_threads=threads)
    raise ArtifactError(f"{artifact}: a {task} model; sample/reconstruct/interpolate need a VAE (text_vae or image_vae)")


def _decode_options(args):
    if args.temperature <= 0:
        raise InputError(f"--temperature must be > 0, got {args.temperature}")
    return {"method": args.method, "beam_size": args.beam, "temperature": args.temperature, "top_k": args.top_k}


def _write(args, images, columns):
    write_png(args.out, image_grid(images, columns=columns, scale=args.scale))
    print(f"wrote {args.out} ({len(images)} images)")


def sample_main(args):
    """`zoo sample ARTIFACT --n N [--seed S]`."""
    if args.n < 1:
        raise InputError(f"--n must be at least 1, got {args.n}")
    model = _load(args.artifact, args.threads)
    if isinstance(model, SentenceVAERunner):
        for sentence in model.sample(args.n, seed=args.seed, **_decode_options(args)):
            print(sentence)
        return 0
    images = model.sample(args.n, seed=args.seed)
    _write(args, images, args.columns or int(np.ceil(np.sqrt(args.n))))
    return 0


def reconstruct_main(args):
    """`zoo reconstruct ARTIFACT INPUT...`: sentences, or .png/.npy image files."""
    model = _load(args.artifact, args.threads)
    if isinstance(model, SentenceVAERunner):
        for sentence in model.reconstruct(args.inputs, **_decode_options(args)):
            print(sentence)
        return 0
    images = np.concatenate([load_image_file(path, model.image_shape) for path in args.inputs])
    reconstructions = model.reconstruct(images)
    losses = model.nll(images, reconstructions)
    for i, loss in enumerate(losses):
        print(f"image {i}: reconstruction loss {loss:.3f} nats")
    # Row 1: the inputs, row 2: their reconstructions.
    _write(args, np.concatenate([images, reconstructions]), len(images))
    return 0


def interpolate_main(args):
    """`zoo interpolate ARTIFACT A B --steps K`: a sentence homotopy or a PNG strip."""
    model = _load(args.artifact, args.threads)
    if isinstance(model, SentenceVAERunner):
        for t, sentence in model.interpolate(args.a, args.b, steps=args.steps, **_decode_options(args)):
            print(f"{t:.2f}  {sentence}")
        return 0
    a, b = (load_image_file(path, model.image_shape)[0] for path in (args.a, args.b))
    _write(args, model.interpolate(a, b, steps=args.steps), args.steps)
    return 0
