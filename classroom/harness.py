"""The code the grader runs in the student's kernel, after the notebook, for one exercise.

It is sent as source, after ``wire.py``'s, and executed in a namespace of its own. It looks up
the student's function by name, calls it on each case the grader sent, and publishes what
came back as plain data (one display output of type :data:`MIME`). It decides nothing: the
grader judges the values in its own process. A notebook can patch anything here (it runs in
the notebook's process), but all that buys it is a different answer, which is judged like any
other. The two things it reports without a value to check, the hooks and ``.grad`` a call
left on its model, are counted here by :func:`_observe`, which reads the models' own fields
(never ``cambook.exercises.observe`` or ``Module.modules``, which a notebook can replace); a
notebook could still forge them only by rewriting this code's data as it runs.
"""

MIME = "application/vnd.classroom.answer+json"
# `encode` and `decode` are wire.py's: its source runs first, in the same namespace (see grading.request_cell).


def _observe(args: tuple) -> dict:
    """Forward hooks (the models' and torch's global ones) and parameters with ``.grad`` set, read from the
    models' own instance fields, with the methods of ``object`` and ``dict``."""
    import torch

    get = object.__getattribute__
    seen, stack, hooks, grads = set(), [a for a in args if isinstance(a, torch.nn.Module)], 0, 0
    while stack:
        module = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        fields = get(module, "__dict__")
        for name in ("_forward_hooks", "_forward_pre_hooks"):
            hooks += dict.__len__(fields.get(name) or {})
        for p in dict.values(fields.get("_parameters") or {}):
            if p is not None and get(p, "grad") is not None:
                grads += 1
        stack.extend(m for m in dict.values(fields.get("_modules") or {}) if m is not None)
    module_globals = __import__("torch.nn.modules.module", fromlist=["_"]).__dict__
    for name in ("_global_forward_hooks", "_global_forward_pre_hooks"):
        hooks += dict.__len__(module_globals.get(name) or {}) if seen else 0
    return {"hooks": int(hooks), "grads": int(grads)}


def answer(user_ns: dict, request_text: str) -> None:
    """Call ``user_ns[request["function"]]`` on each case of the request; publish the results."""
    import importlib
    import json

    from IPython.display import publish_display_data

    request = json.loads(request_text)
    exercises = importlib.import_module("cambook.exercises")
    kinds = {"Net": exercises.Net, "Layer": exercises.Layer}

    def make_spec(kind, values):
        return kinds[kind](**values)

    reply = {"nonce": request["nonce"], "results": []}
    fn = user_ns.get(request["function"])
    if fn is None:
        reply["missing"] = True
    elif not callable(fn):
        reply["not_callable"] = type(fn).__name__[:100]
    else:
        for encoded in request["cases"]:
            args = exercises.materialize(tuple(decode(a, specs=True, make_spec=make_spec) for a in encoded))  # noqa: F821
            try:
                result = {"returned": encode(fn(*args))}  # noqa: F821
            except (Exception, SystemExit) as err:
                result = {
                    "raised": type(err).__name__[:100],
                    "message": " ".join(str(err).split())[:300],
                    "line": exercises.where_raised(err)[:300],
                }
            result["observed"] = _observe(args)
            reply["results"].append(result)
    publish_display_data({MIME: reply})
