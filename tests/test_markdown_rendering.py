from lessons.markdown import render_markdown, slugify_heading


def test_script_tags_never_reach_the_page():
    html = render_markdown("Hello\n\n<script>alert('x')</script>\n").html
    assert "<script" not in html


def test_event_handler_attributes_never_reach_the_page():
    html = render_markdown('<img src="x" onerror="alert(1)">\n\n<a href="#" onclick="x()">a</a>').html
    assert "<img" not in html
    assert "<a href" not in html


def test_javascript_links_are_dropped():
    html = render_markdown("[click](javascript:alert(1))").html
    assert 'href="javascript' not in html


def test_headings_get_stable_anchors_and_a_table_of_contents():
    rendered = render_markdown("## Order instructions: least to most changed\n\n### Why?\n\n## Why?\n")
    assert '<h2 id="order-instructions-least-to-most-changed">' in rendered.html
    assert [entry["anchor"] for entry in rendered.toc] == [
        "order-instructions-least-to-most-changed",
        "why",
        "why-2",
    ]
    assert slugify_heading("Keep the build context small with .dockerignore") == (
        "keep-the-build-context-small-with-dockerignore"
    )


def test_code_blocks_are_highlighted_and_escaped():
    html = render_markdown("```dockerfile\nFROM python:3.11-slim\nRUN echo '<b>'\n```\n").html
    assert '<pre class="highlight">' in html
    assert '<span class="k">FROM</span>' in html
    assert "&lt;b&gt;" in html


def test_safe_links_keep_their_target_and_get_noopener():
    html = render_markdown("[docs](https://example.org/x)").html
    assert 'href="https://example.org/x"' in html
    assert "noopener" in html
