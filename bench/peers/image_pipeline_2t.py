"""Peer of mmalign_bench image_pipeline_2t: the image_pipeline_1t workload on two images per
iteration, one per thread of a ThreadPoolExecutor(2) (PIL releases the GIL while it decodes and
resizes, so threads run those parts in parallel; the Python glue and the torch calls' dispatch still
take the GIL). torch.set_num_threads(1), so each worker's ToTensor/Normalize stays on its thread.
Images per second = 2 / seconds_per_iter."""
from concurrent.futures import ThreadPoolExecutor

import torch
from _common import run
from image_pipeline_1t import make_transform, one_image


def setup():
    torch.set_num_threads(1)
    pool = ThreadPoolExecutor(2)
    tf = make_transform()
    list(pool.map(lambda _: one_image(tf), range(4)))  # start both workers
    return pool, tf


def iteration(state):
    pool, tf = state
    return list(pool.map(lambda _: one_image(tf), range(2)))


run("image_pipeline_2t", setup, iteration, default_reps=5, default_warmup=5, min_time=0.5,
    extra=lambda o: {"images_per_second": 2.0 / o["seconds_per_iter"]})
