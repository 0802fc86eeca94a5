/* test_engine_events.c — engine events: Docker's JSON shapes, subscribers cancelling mid-dispatch,
 * replay. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_internal.h"

#define CONTAINER_ID "4f3c2b1a0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b"

struct recorder {
    char *events[16];
    size_t count;
};

static void recorder_on_event(const char *json, void *user)
{
    struct recorder *recorder = user;
    assert_true(recorder->count < 16);
    recorder->events[recorder->count] = strdup(json);
    assert_non_null(recorder->events[recorder->count]);
    recorder->count++;
}

static void recorder_free(struct recorder *recorder)
{
    for (size_t i = 0; i < recorder->count; i++)
        free(recorder->events[i]);
    recorder->count = 0;
}

static int engine_setup(void **state)
{
    struct engine *engine = calloc(1, sizeof *engine);
    *state = engine;
    return engine == NULL ? -1 : 0;
}

static int engine_teardown(void **state)
{
    struct engine *engine = *state;
    engine_events_free_all(engine);
    assert_null(engine->events);
    free(engine);
    return 0;
}

/* The text with its two time fields as the event carries them. */
static void assert_event_text(const char *json, const char *before_time)
{
    json_t *event = json_loads(json, 0, NULL);
    assert_non_null(event);
    json_int_t seconds = json_integer_value(json_object_get(event, "time"));
    json_int_t nanos = json_integer_value(json_object_get(event, "timeNano"));
    json_decref(event);
    assert_true(seconds > 1600000000);
    assert_int_equal(seconds, nanos / 1000000000);
    char expected[1024];
    snprintf(expected, sizeof expected, "%s,\"scope\":\"local\",\"time\":%lld,\"timeNano\":%lld}",
             before_time, (long long)seconds, (long long)nanos);
    assert_string_equal(json, expected);
}

static void test_container_event_has_docker_shape(void **state)
{
    struct engine *engine = *state;
    struct recorder first = {0}, second = {0};
    struct engine_event_subscription *one, *two;
    struct keel_error err = {0};

    assert_int_equal(engine_events_subscribe(engine, recorder_on_event, &first, &one, &err), 0);
    assert_int_equal(engine_events_subscribe(engine, recorder_on_event, &second, &two, &err), 0);
    engine_event_emit(
        engine, "container", "die", CONTAINER_ID,
        json_pack("{s:s, s:s, s:s}", "image", "busybox", "name", "web", "exitCode", "3"));
    assert_int_equal(first.count, 1);
    assert_int_equal(second.count, 1);
    assert_string_equal(first.events[0], second.events[0]);
    assert_event_text(first.events[0], "{\"status\":\"die\",\"id\":\"" CONTAINER_ID
                                       "\",\"from\":\"busybox\",\"Type\":\"container\","
                                       "\"Action\":\"die\",\"Actor\":{\"ID\":\"" CONTAINER_ID
                                       "\",\"Attributes\":{\"image\":"
                                       "\"busybox\",\"name\":\"web\",\"exitCode\":\"3\"}}");
    engine_events_cancel(one);
    engine_events_cancel(two);
    recorder_free(&first);
    recorder_free(&second);
}

static void test_image_and_other_events_have_their_shapes(void **state)
{
    struct engine *engine = *state;
    struct recorder recorder = {0};
    struct engine_event_subscription *subscription;
    struct keel_error err = {0};

    assert_int_equal(
        engine_events_subscribe(engine, recorder_on_event, &recorder, &subscription, &err), 0);
    engine_event_emit(engine, "image", "untag", "sha256:abc",
                      json_pack("{s:s}", "name", "busybox:latest"));
    /* No attributes: an empty object, never null. */
    engine_event_emit(engine, "container", "create", CONTAINER_ID, NULL);
    /* Only container and image events carry the deprecated fields. */
    engine_event_emit(engine, "network", "connect", "n1", NULL);
    assert_int_equal(recorder.count, 3);
    assert_event_text(recorder.events[0],
                      "{\"status\":\"untag\",\"id\":\"sha256:abc\",\"Type\":\"image\","
                      "\"Action\":\"untag\",\"Actor\":{\"ID\":\"sha256:abc\","
                      "\"Attributes\":{\"name\":\"busybox:latest\"}}");
    assert_event_text(
        recorder.events[1],
        "{\"status\":\"create\",\"id\":\"" CONTAINER_ID
        "\",\"Type\":\"container\",\"Action\":\"create\",\"Actor\":{\"ID\":\"" CONTAINER_ID
        "\",\"Attributes\":{}}");
    assert_event_text(recorder.events[2],
                      "{\"Type\":\"network\",\"Action\":\"connect\",\"Actor\":{\"ID\":\"n1\","
                      "\"Attributes\":{}}");
    engine_events_cancel(subscription);
    recorder_free(&recorder);
}

/* A subscriber that cancels itself and another from its callback, and
 * subscribes a third, all in the middle of a dispatch. */
struct canceller {
    struct engine *engine;
    struct engine_event_subscription *self;
    struct engine_event_subscription *other;
    struct engine_event_subscription *added;
    struct recorder *added_recorder;
    size_t calls;
};

static void canceller_on_event(const char *json, void *user)
{
    struct canceller *canceller = user;
    struct keel_error err = {0};
    (void)json;
    canceller->calls++;
    engine_events_cancel(canceller->self);
    engine_events_cancel(canceller->other);
    assert_int_equal(engine_events_subscribe(canceller->engine, recorder_on_event,
                                             canceller->added_recorder, &canceller->added, &err),
                     0);
    /* An event caused by a subscriber reaches the others still subscribed. */
    engine_event_emit(canceller->engine, "container", "kill", "nested", NULL);
}

static void test_cancel_inside_a_callback_is_safe(void **state)
{
    struct engine *engine = *state;
    struct recorder before = {0}, other = {0}, added = {0};
    struct engine_event_subscription *first;
    struct canceller canceller = {.engine = engine, .added_recorder = &added};
    struct keel_error err = {0};

    /* Dispatch goes newest first: the canceller runs before the others. */
    assert_int_equal(
        engine_events_subscribe(engine, recorder_on_event, &other, &canceller.other, &err), 0);
    assert_int_equal(engine_events_subscribe(engine, recorder_on_event, &before, &first, &err), 0);
    assert_int_equal(
        engine_events_subscribe(engine, canceller_on_event, &canceller, &canceller.self, &err), 0);
    engine_event_emit(engine, "container", "start", "c1", NULL);
    assert_int_equal(canceller.calls, 1);
    assert_int_equal(other.count, 0);
    /* first got the nested event (during the canceller's call), then start. */
    assert_int_equal(before.count, 2);
    assert_non_null(strstr(before.events[0], "\"kill\""));
    assert_non_null(strstr(before.events[1], "\"start\""));
    /* The subscription made inside missed start but got the nested kill. */
    assert_int_equal(added.count, 1);
    assert_non_null(strstr(added.events[0], "\"kill\""));

    engine_event_emit(engine, "container", "stop", "c1", NULL);
    assert_int_equal(canceller.calls, 1);
    assert_int_equal(other.count, 0);
    assert_int_equal(before.count, 3);
    assert_int_equal(added.count, 2);
    engine_events_cancel(first);
    engine_events_cancel(canceller.added);
    engine_events_cancel(NULL);
    recorder_free(&before);
    recorder_free(&added);
}

static void test_free_all_with_live_subscribers(void **state)
{
    struct engine *engine = *state;
    struct recorder recorder = {0};
    struct engine_event_subscription *subscription;
    struct keel_error err = {0};

    assert_int_equal(
        engine_events_subscribe(engine, recorder_on_event, &recorder, &subscription, &err), 0);
    engine_event_emit(engine, "container", "start", "c1", NULL);
    assert_int_equal(recorder.count, 1);
    recorder_free(&recorder);
    /* The teardown frees it, the subscription and the ring (ASan checks). */
}

static json_int_t event_time_nanos(const char *json)
{
    json_t *event = json_loads(json, 0, NULL);
    assert_non_null(event);
    json_int_t nanos = json_integer_value(json_object_get(event, "timeNano"));
    json_decref(event);
    return nanos;
}

struct replay_log {
    size_t count;
    char first_id[32];
    char last_id[32];
};

static void replay_on_event(const char *json, void *user)
{
    struct replay_log *log = user;
    json_t *event = json_loads(json, 0, NULL);
    assert_non_null(event);
    const char *id = json_string_value(json_object_get(event, "id"));
    assert_non_null(id);
    if (log->count == 0)
        snprintf(log->first_id, sizeof log->first_id, "%s", id);
    snprintf(log->last_id, sizeof log->last_id, "%s", id);
    log->count++;
    json_decref(event);
}

static void test_replay_since_and_until(void **state)
{
    struct engine *engine = *state;
    struct recorder recorder = {0};
    struct engine_event_subscription *subscription;
    struct replay_log log = {0};
    struct keel_error err = {0};

    assert_int_equal(engine_events_replay(engine, 0, 0, replay_on_event, &log), 0);
    assert_int_equal(
        engine_events_subscribe(engine, recorder_on_event, &recorder, &subscription, &err), 0);
    engine_event_emit(engine, "container", "create", "c1", NULL);
    engine_event_emit(engine, "container", "start", "c2", NULL);
    engine_event_emit(engine, "container", "die", "c3", NULL);
    json_int_t second = event_time_nanos(recorder.events[1]);
    json_int_t third = event_time_nanos(recorder.events[2]);
    engine_events_cancel(subscription);
    recorder_free(&recorder);

    assert_int_equal(engine_events_replay(engine, 0, 0, replay_on_event, &log), 3);
    assert_string_equal(log.first_id, "c1");
    assert_string_equal(log.last_id, "c3");

    log = (struct replay_log){0};
    assert_int_equal(engine_events_replay(engine, second, 0, replay_on_event, &log), 2);
    assert_string_equal(log.first_id, "c2");

    if (third > second) {
        log = (struct replay_log){0};
        assert_int_equal(engine_events_replay(engine, 0, second, replay_on_event, &log), 2);
        assert_string_equal(log.last_id, "c2");
    }
    log = (struct replay_log){0};
    assert_int_equal(engine_events_replay(engine, third + 1, 0, replay_on_event, &log), 0);
}

static void test_replay_keeps_the_last_events(void **state)
{
    struct engine *engine = *state;
    struct replay_log log = {0};
    char id[32];

    for (int i = 0; i < ENGINE_EVENTS_KEPT + 44; i++) {
        snprintf(id, sizeof id, "c%d", i);
        engine_event_emit(engine, "container", "start", id, NULL);
    }
    assert_int_equal(engine_events_replay(engine, 0, 0, replay_on_event, &log), ENGINE_EVENTS_KEPT);
    assert_string_equal(log.first_id, "c44");
    snprintf(id, sizeof id, "c%d", ENGINE_EVENTS_KEPT + 43);
    assert_string_equal(log.last_id, id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_container_event_has_docker_shape, engine_setup,
                                        engine_teardown),
        cmocka_unit_test_setup_teardown(test_image_and_other_events_have_their_shapes, engine_setup,
                                        engine_teardown),
        cmocka_unit_test_setup_teardown(test_cancel_inside_a_callback_is_safe, engine_setup,
                                        engine_teardown),
        cmocka_unit_test_setup_teardown(test_free_all_with_live_subscribers, engine_setup,
                                        engine_teardown),
        cmocka_unit_test_setup_teardown(test_replay_since_and_until, engine_setup, engine_teardown),
        cmocka_unit_test_setup_teardown(test_replay_keeps_the_last_events, engine_setup,
                                        engine_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
