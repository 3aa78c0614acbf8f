"""The agent behind agent sessions: ``browser-use`` driving a browser of the local server.

``llm`` says which language model the server's agents use (configuration only, no import of
``browser-use``); ``run`` runs one task in a thread of its own and reports its steps and its
end; ``output`` turns a session's ``output_schema`` into the model its answer must fit.
``browser-use`` (the ``bu-cdp[agent]`` extra) is imported only when a session runs.
"""
