"""The code the grader runs in the student's kernel, after the notebook, for one exercise.

It is sent as source, after ``wire.py``'s, and executed in a namespace of its own. It looks up
the student's function by name, calls it on each case the grader sent, and publishes what
came back as plain data (one display output of type :data:`MIME`). It decides nothing: the
grader judges the values in its own process. A notebook can patch anything here (it runs in
the notebook's process), but all that buys it is a different answer, which is judged like any
other. The two things it reports without a value to check, the hooks and ``.grad`` a call
left on its model, are the only ones a notebook could forge, and only to hide its own mess.
"""
MIME = "application/vnd.classroom.answer+json"
# `encode` and `decode` are wire.py's: its source runs first, in the same namespace (see grading.request_cell).


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
                result = {"raised": type(err).__name__[:100], "message": " ".join(str(err).split())[:300],
                          "line": exercises.where_raised(err)[:300]}
            result["observed"] = exercises.observe(args)
            reply["results"].append(result)
    publish_display_data({MIME: reply})
