"""app.ahead.run_ahead: the plain loop's results, in order, computed ahead in a worker thread that never outlives
its consumer; and the two users (the echo network, the strain's motion) give what they give inline."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from app.ahead import run_ahead

WORKER = "cardiotrace-ahead"


def _workers() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == WORKER]


def test_the_results_of_the_plain_loop_in_order():
    rng = np.random.default_rng(0)
    delays = rng.uniform(0.0, 0.003, 40)

    def step(i):
        time.sleep(delays[i])
        return i * i

    assert list(run_ahead(step, range(40), depth=3)) == [i * i for i in range(40)]
    assert list(run_ahead(step, [])) == []
    assert not _workers()


def test_the_step_runs_in_another_thread_ahead_of_the_consumer_by_at_most_depth():
    called: list[int] = []
    threads: set[int] = set()

    def step(i):
        threads.add(threading.get_ident())
        called.append(i)
        return i

    items = run_ahead(step, range(30), depth=4)
    assert next(items) == 0
    deadline = time.monotonic() + 5.0
    while len(called) < 5 and time.monotonic() < deadline:  # the worker fills the queue while we wait
        time.sleep(0.01)
    time.sleep(0.05)
    assert threads == {t.ident for t in _workers()} and threading.get_ident() not in threads
    # consumed 1, 4 waiting in the queue, at most one more computed and held back
    assert 5 <= len(called) <= 6
    assert list(items) == list(range(1, 30))


def test_an_error_is_raised_in_the_consumer_at_its_frame():
    def step(i):
        if i == 3:
            raise ValueError("frame 3 is corrupt")
        return i

    got = []
    with pytest.raises(ValueError, match="frame 3 is corrupt"):
        for x in run_ahead(step, range(10), depth=2):
            got.append(x)
    assert got == [0, 1, 2]
    assert not _workers()


def test_closing_early_stops_the_worker():
    called: list[int] = []

    def step(i):
        called.append(i)
        time.sleep(0.002)
        return i

    items = run_ahead(step, range(1000), depth=2)
    assert [next(items), next(items)] == [0, 1]
    items.close()
    assert not _workers()  # close() waits for the worker's current step
    assert len(called) <= 2 + 2 + 1


# -- the users ----------------------------------------------------------------------------------------
torch = pytest.importorskip("torch")

from tests.test_echo_seg_inference import _recording, tiny_models  # noqa: E402,F401


def test_the_echo_network_ahead_gives_the_labels_it_gives_inline(tiny_models, monkeypatch):  # noqa: F811
    from app.ml import inference
    from app.ml.device import network_ahead, onnxruntime_available

    if not onnxruntime_available():
        pytest.skip("the network runs ahead on the ONNX Runtime path only: onnxruntime is not installed")
    monkeypatch.setenv("CARDIOTRACE_BACKEND", "onnxruntime")
    monkeypatch.setenv("CARDIOTRACE_BF16", "0")
    monkeypatch.setattr(torch, "get_num_threads", lambda: 2)
    rec = _recording(n=12)
    results = {}
    for overlap in ("0", "1"):
        monkeypatch.setenv("CARDIOTRACE_OVERLAP", overlap)
        inference.clear_model_cache()
        seg = inference.EchoSegmenter("base", device=torch.device("cpu"), ahead=True)
        assert seg.ahead == (overlap == "1")
        assert seg.onnx.session.get_session_options().intra_op_num_threads == 2
        results[overlap] = list(inference.segment_recording(rec, "base", device=torch.device("cpu")))[-1]
        assert not _workers()
    cancel = threading.Event()
    for item in inference.segment_recording(rec, "base", device=torch.device("cpu"), cancel=cancel):
        assert not isinstance(item, inference.EchoSegmentation)
        cancel.set()  # after the first frame: the task stops, and its network thread with it
    assert not _workers()
    inference.clear_model_cache()
    assert np.array_equal(results["0"].labels, results["1"].labels)
    assert np.array_equal(results["0"].confidence, results["1"].confidence)
    cpu = torch.device("cpu")
    assert not network_ahead(cpu, "torch", 8) and not network_ahead(cpu, "onnxruntime", 1)
    assert network_ahead(torch.device("cuda"), "torch", 1)  # the GPU computes while the CPU traces


def test_strain_with_the_motion_ahead_is_the_strain_inline():
    import cv2

    from app.data import phantom
    from app.workflow.strain_pipeline import run_strain

    case = phantom.make_echo(phantom.EchoPhantomParams(view="a4c", beats=1, quality="good", frame_rate_hz=40.0,
                                                       image_shape_px=(160, 160)), seed=1)
    rec, tr = case.recording, case.truth
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(1)
        inline = run_strain(rec, tr.labels, tr.ed_frames, es_frames=tr.es_frames)
        cv2.setNumThreads(2)
        ahead = run_strain(rec, tr.labels, tr.ed_frames, es_frames=tr.es_frames)
    finally:
        cv2.setNumThreads(before)
    assert not _workers()
    assert inline.gls_pct == ahead.gls_pct
    assert np.array_equal(inline.centerline_px, ahead.centerline_px)
    assert np.array_equal(inline.strain_curve_pct, ahead.strain_curve_pct)


def test_a_per_frame_network_in_batches_gives_each_frames_probabilities(tiny_models, monkeypatch):  # noqa: F811
    """In torch a per-frame network takes several frames a call (app/ml/device.network_batch: a GPU's
    ECHO_BATCH_FRAMES_GPU, the CPU's ECHO_BATCH_FRAMES_CPU); the batches give the frame-by-frame probabilities,
    moving average included, in order."""
    from app.ml import device, inference

    monkeypatch.setenv("CARDIOTRACE_BACKEND", "torch")
    monkeypatch.setenv("CARDIOTRACE_BF16", "0")
    cuda = torch.device("cuda")
    assert device.network_batch(cuda, False) == device.ECHO_BATCH_FRAMES_GPU and device.network_batch(cuda, True) == 1
    assert device.network_batch(torch.device("cpu"), False) == device.ECHO_BATCH_FRAMES_CPU > 1
    assert device.network_batch(torch.device("cpu"), True) == 1
    monkeypatch.setattr(device, "network_batch", lambda dev, recurrent: 1 if recurrent else 4)
    monkeypatch.setattr(device, "network_ahead", lambda dev, backend, threads: True)
    inference.clear_model_cache()
    frames = np.random.default_rng(1).random((10, 32, 32)).astype(np.float32)
    for window in (0, 3):
        seg = inference.EchoSegmenter("base", device=torch.device("cpu"), ahead=True, wma_window=window)
        assert seg.batch == 4 and seg.ahead
        seg.reset()
        batched = list(seg.probabilities(frames))
        seg.reset()
        single = [seg.step_net(f) for f in frames]
        assert len(batched) == len(frames)
        assert all(np.allclose(a, b, atol=1e-5) for a, b in zip(batched, single, strict=True))
    assert inference.EchoSegmenter("temporal", device=torch.device("cpu"), ahead=True).batch == 1
    seg = inference.EchoSegmenter("base", device=torch.device("cpu"), ahead=True)
    items = seg.probabilities(frames)
    next(items)
    items.close()  # a cancelled clip: the batches' thread stops too
    inference.clear_model_cache()
    assert not _workers()
